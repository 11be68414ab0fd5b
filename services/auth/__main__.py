import os

from services.common.grpc_transport import choose_grpc_endpoints

choose_grpc_endpoints(os.environ)  # before gRPC is imported

from services.auth.service import DEFINITION  # noqa: E402
from services.common.service_main import main  # noqa: E402

main(DEFINITION)

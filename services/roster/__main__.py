import os

from services.common.grpc_transport import choose_grpc_endpoints
from services.roster.malloc_arenas import limit_malloc_arenas

choose_grpc_endpoints(os.environ)  # before gRPC is imported

# Before anything starts a thread: arenas already handed out are not taken back.
limit_malloc_arenas(os.environ)

from services.common.service_main import main  # noqa: E402
from services.roster.service import DEFINITION  # noqa: E402

main(DEFINITION)

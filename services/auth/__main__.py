from services.auth.service import DEFINITION
from services.common.service_main import main

main(DEFINITION)

from services.common.service_main import main
from services.sharing.service import DEFINITION

main(DEFINITION)

from services.common.service_main import main
from services.roster.service import DEFINITION

main(DEFINITION)

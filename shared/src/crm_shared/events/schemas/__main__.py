import sys

from crm_shared.events.schemas.cli import main

sys.exit(main())

import sys

from dealwatch.cli import main

sys.exit(main())

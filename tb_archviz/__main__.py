import sys

from tb_archviz.cli import main

sys.exit(main())

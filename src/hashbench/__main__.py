"""python -m hashbench"""

from . import main

main()

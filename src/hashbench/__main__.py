"""python -m hashbench"""

from .cli import main

main()

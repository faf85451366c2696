from kgw.cli import main

main()

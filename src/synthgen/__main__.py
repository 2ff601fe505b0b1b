from synthgen.cli.app import main

main()

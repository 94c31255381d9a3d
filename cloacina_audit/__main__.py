from cloacina_audit.cli import main

main()

"""The dashboard's entry point for AppTest.

AppTest runs the script it is given; dashboard/app.py has a `pages/` folder beside it, which makes
AppTest (like a freshly started server, see dashboard/shell.py) run a requested page file directly.
Running the same main() from here, where no `pages/` folder is, makes every test run go through the
shell exactly as the server does once running.
"""
from dashboard.app import main

main()

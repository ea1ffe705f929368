from envcheck.cli import run

run()

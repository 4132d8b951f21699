"""``python -m ossrflow`` runs the command-line interface."""

from ossrflow.cli import main

if __name__ == "__main__":
    main()

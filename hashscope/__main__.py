from .cli import main

if __name__ == "__main__":  # not in a worker process that spawn starts from here
    main()

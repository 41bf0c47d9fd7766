"""The baseline for the start-up benchmark: a minimal typer app in the same environment."""
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world"):
    print(f"hello {name}")


if __name__ == "__main__":
    app()

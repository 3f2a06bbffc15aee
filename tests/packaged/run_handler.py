"""Run the built publisher function as the Lambda python3.13 runtime would, in this process.

Started by tests/packaged/test_packaged.py as
`python -I -S run_handler.py RESULT_FILE FUNCTION_DIR LAYER_DIR RUNTIME_DIR EVENT...`:
isolated (-I: no user site, no PYTHON* variables, no script directory on the path) and with
no site-packages (-S), so nothing is importable but the standard library and the three
folders put on the path here, in Lambda's order: the function (/var/task), the layer
(/opt/python) and the runtime's own packages (boto3 and its dependencies).

Each event is handled in turn by one warm container's handler; what the handler returned,
the path and what could not be imported go to RESULT_FILE as JSON (stdout is the function's
own output: its JSON logs and metrics).
"""

import json
import sys
import uuid


class LambdaContext:
    """The attributes of the context object the handler and Powertools read."""

    function_name = "herald-packaged-publisher"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = (
        "arn:aws:lambda:eu-west-2:123456789012:function:herald-packaged-publisher"
    )
    log_group_name = "/aws/lambda/herald-packaged-publisher"
    log_stream_name = "2021/02/09/[$LATEST]packaged"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def main() -> int:
    result_file, function_dir, layer_dir, runtime_dir, *events = sys.argv[1:]
    sys.path[:0] = [function_dir, layer_dir, runtime_dir]
    print(f"sys.path: {sys.path}", file=sys.stderr)

    try:
        import pytest  # noqa: F401
    except ImportError:
        pytest_importable = False
    else:
        pytest_importable = True

    import app  # the handler module, from the function dir; its imports come from the layer

    results = []
    for path in events:
        with open(path, encoding="utf-8") as file:
            event = json.load(file)
        results.append(app.lambda_handler(event, LambdaContext()))
        sys.stdout.flush()

    modules = {
        name: getattr(module, "__file__", None) or "" for name, module in list(sys.modules.items())
    }
    with open(result_file, "w", encoding="utf-8") as file:
        json.dump(
            {
                "sys_path": sys.path,
                "pytest_importable": pytest_importable,
                "results": results,
                "module_files": modules,
            },
            file,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

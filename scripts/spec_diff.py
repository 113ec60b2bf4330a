"""What a new openapi.yaml takes away from an old one on the wire: schemas, fields, operations,
parameters and statuses that were there and are gone. (Operation ids are not on the wire; v1's
were renamed once, to unique names, when they first became usable by generators.) Nothing printed but the summary line means nothing a client
relied on was removed or renamed (a rename shows as a removal).

    python3 scripts/spec_diff.py OLD.yaml NEW.yaml
    python3 scripts/spec_diff.py <(git show v1:openapi.yaml) openapi.yaml

Keys are compared as strings, so a YAML 1.1 reader's `on` → True does not count as a change."""

import sys

import yaml


class Strings(yaml.SafeLoader):
    """Reads `on`, `yes`, `no`... as the strings they were written as."""


Strings.add_constructor("tag:yaml.org,2002:bool", lambda loader, node: loader.construct_scalar(node))


def load(path):
    with open(path) as f:
        return yaml.load(f, Loader=Strings)


def removed(old, new):
    gone = []
    old_schemas, new_schemas = old["components"]["schemas"], new["components"]["schemas"]
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            gone.append(f"schema {name}")
            continue
        for field in schema.get("properties", {}):
            if field not in new_schemas[name].get("properties", {}):
                gone.append(f"field {name}.{field}")
    for path, item in old["paths"].items():
        for method, operation in item.items():
            new_operation = new["paths"].get(path, {}).get(method)
            if new_operation is None:
                gone.append(f"operation {method.upper()} {path}")
                continue
            new_params = {(p.get("name"), p.get("in")) for p in new_operation.get("parameters", [])}
            for p in operation.get("parameters", []):
                if (p.get("name"), p.get("in")) not in new_params:
                    gone.append(f"parameter {p.get('name')} ({p.get('in')}) of {method.upper()} {path}")
            for status in operation.get("responses", {}):
                if status not in new_operation.get("responses", {}):
                    gone.append(f"status {status} of {method.upper()} {path}")
    return gone


def main():
    gone = removed(load(sys.argv[1]), load(sys.argv[2]))
    for line in gone:
        print(line)
    print(f"{len(gone)} removed or renamed")
    sys.exit(1 if gone else 0)


if __name__ == "__main__":
    main()

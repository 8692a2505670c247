"""Keep the Meltano plugin definitions of tap-exactonline and target-exactonline true to the code.

The settings and capabilities a plugin really has are what its `--about --format=json` says.
This script turns that into Meltano setting definitions (kind, label, description, default,
`sensitive: true` for secrets, options for enums) and writes them to two places that must agree:

- `plugins/<type>/<name>--<variant>.yml`, MeltanoHub-style files ready to contribute to the hub;
- the custom plugin entries in `meltano.yml` (edited in place, comments kept);
- the README's settings tables (the `--about --format=markdown` table of each plugin) and its
  table of the tap's streams (from `tap_exactonline.streams`), between BEGIN/END markers.

    python plugins/sync_definitions.py          # rewrite both from --about
    python plugins/sync_definitions.py --check  # exit 1 and name the drift (used by the tests)
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
VARIANT = "exactonline-connector"
REPO_URL = "https://github.com/exactonline-connector/exactonline-connector"

# What --about cannot say: the hub's descriptive fields, per plugin.
HUB_HEADERS: dict[str, dict[str, Any]] = {
    "tap-exactonline": {
        "plugin_type": "extractors",
        "namespace": "tap_exactonline",
        "label": "Exact Online",
        "description": "Accounting, CRM and invoicing software for small and medium businesses",
        "domain_url": "https://www.exact.com",
        "keywords": ["api", "meltano_sdk", "accounting", "erp"],
        "logo_url": "/assets/logos/extractors/exactonline.png",
    },
    "target-exactonline": {
        "plugin_type": "loaders",
        "namespace": "target_exactonline",
        "label": "Exact Online",
        "description": "Reverse ETL into Exact Online: customers, sales invoices and attachments",
        "domain_url": "https://www.exact.com",
        "keywords": ["api", "meltano_sdk", "accounting", "erp", "reverse-etl"],
        "logo_url": "/assets/logos/loaders/exactonline.png",
    },
}

# Objects the SDK describes field by field are flattened to dotted settings (as the hub does);
# these free-form ones stay whole objects.
FREE_FORM_OBJECTS = {"stream_maps", "stream_map_config"}

KIND_BY_TYPE = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "number": "decimal",
    "array": "array",
    "object": "object",
}


def about_text(executable: str, fmt: str) -> str:
    """`<plugin> --about --format=<fmt>`: needs no network and no config."""
    exe = Path(sys.executable).parent / executable
    out = subprocess.run(
        [str(exe), "--about", f"--format={fmt}"], capture_output=True, text=True, check=True
    )
    return out.stdout


def about(executable: str) -> dict[str, Any]:
    """The plugin's own account of its settings and capabilities."""
    return json.loads(about_text(executable, "json"))


def settings_table(markdown: str) -> str:
    """The settings table of an `--about --format=markdown` text."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def streams_table() -> str:
    """The tap's streams as a Markdown table, from the stream table the tap itself uses."""
    from tap_exactonline.catalogue_streams import not_by_default
    from tap_exactonline.streams import DIVISIONS_SPEC, STREAM_TABLE

    rows = [
        "| stream | endpoint | key | cursor | deletes (sync/Deleted EntityType) | selected by "
        "default | what |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in (*STREAM_TABLE, DIVISIONS_SPEC):
        cursor = f"`{spec.replication_key}`" if spec.replication_key else "none (full table)"
        deletes = ", ".join(str(t) for t in spec.deleted_types) or "no"
        key = ", ".join(f"`{k}`" for k in spec.key)
        why = not_by_default(spec) if spec is not DIVISIONS_SPEC else None
        default = f"no ({why})" if why else "yes"
        rows.append(
            f"| `{spec.name}` | `{spec.path}` | {key} | {cursor} | {deletes} | {default} "
            f"| {spec.description} |"
        )
    return "\n".join(rows)


def default_selection() -> list[str]:
    """meltano.yml's `select` of the tap: every stream selected by default, all its fields."""
    from tap_exactonline.streams import STREAM_TYPES

    return [f"{t.spec.name}.*" for t in STREAM_TYPES if t.selected_by_default]


def deleted_types_table() -> str:
    """sync/Deleted's EntityTypes (as the catalogue documents them) and the streams they reach."""
    from tap_exactonline.catalogue_streams import deleted_entity_types
    from tap_exactonline.streams import STREAM_TABLE

    rows = ["| EntityType | Exact's name | stream(s) |", "| --- | --- | --- |"]
    for number, name in sorted(deleted_entity_types().items()):
        streams = [f"`{s.name}`" for s in STREAM_TABLE if number in s.deleted_types]
        reached = ", ".join(streams) or "none: no stream reads this table"
        rows.append(f"| {number} | {name} | {reached} |")
    return "\n".join(rows)


def replace_section(text: str, name: str, body: str) -> str:
    """Put `body` between `<!-- BEGIN name ... -->` and `<!-- END name -->` lines."""
    lines = text.splitlines(keepends=True)
    begin = next(i for i, line in enumerate(lines) if line.startswith(f"<!-- BEGIN {name} "))
    end = next(i for i, line in enumerate(lines) if line.startswith(f"<!-- END {name} -->"))
    return "".join([*lines[: begin + 1], body.rstrip("\n") + "\n", *lines[end:]])


def render_readme(text: str) -> str:
    """The README with its generated sections brought up to date."""
    text = replace_section(text, "tap-exactonline streams", streams_table())
    text = replace_section(text, "tap-exactonline deleted types", deleted_types_table())
    for name in HUB_HEADERS:
        text = replace_section(
            text, f"{name} settings", settings_table(about_text(name, "markdown"))
        )
    return text


def _types(prop: dict[str, Any]) -> list[str]:
    raw = prop.get("type")
    if raw is None:
        raw = []
        for option in prop.get("anyOf") or prop.get("oneOf") or []:
            if isinstance(option, dict):
                found = option.get("type", [])
                raw.extend([found] if isinstance(found, str) else found)
    if isinstance(raw, str):
        raw = [raw]
    return [t for t in (raw or []) if t != "null"]


def _label(name: str) -> str:
    return " ".join(part.capitalize() for part in name.replace(".", " ").split("_"))


def setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """One Meltano setting definition from one JSON-schema property."""
    types = _types(prop)
    if "enum" in prop or "allowed_values" in prop:
        kind = "options"
    elif prop.get("format") == "date-time":
        kind = "date_iso8601"
    elif len(set(types)) == 1:
        kind = KIND_BY_TYPE.get(types[0], "string")
    else:
        # No type, or several (`divisions`: a list of codes or "all"). Meltano parses an
        # `array` setting's text as JSON and refuses "all"; a `string` setting passes YAML lists
        # through unchanged and environment values as text, which the plugin parses.
        kind = "string"
    out: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "label": prop.get("title") or _label(name),
        "description": " ".join((prop.get("description") or _label(name)).split()),
    }
    if kind == "options":
        values = [v for v in (prop.get("enum") or prop.get("allowed_values")) if v is not None]
        out["options"] = [{"label": str(v), "value": v} for v in values]
    if prop.get("secret") or prop.get("writeOnly"):
        out["sensitive"] = True
    if "default" in prop and prop["default"] is not None:
        out["value"] = prop["default"]
    return out


def settings_from(schema: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Every setting of a plugin, nested SDK objects flattened to dotted names."""
    result: list[dict[str, Any]] = []
    for name, prop in schema.get("properties", {}).items():
        full = f"{prefix}{name}"
        if "object" in _types(prop) and prop.get("properties") and full not in FREE_FORM_OBJECTS:
            result.extend(settings_from(prop, prefix=f"{full}."))
        else:
            result.append(setting(full, prop))
    return sorted(result, key=lambda s: s["name"])


def definition(name: str, info: dict[str, Any]) -> dict[str, Any]:
    """The plugin definition shared by the hub file and meltano.yml."""
    required = sorted(info["settings"].get("required", []))
    return {
        "capabilities": sorted(info["capabilities"]),
        "settings": settings_from(info["settings"]),
        "settings_group_validation": [required] if required else [],
    }


def hub_document(name: str, info: dict[str, Any]) -> dict[str, Any]:
    header = {k: v for k, v in HUB_HEADERS[name].items() if k != "plugin_type"}
    doc = {
        **header,
        **definition(name, info),
        "executable": name,
        "maintenance_status": "active",
        "name": name,
        "pip_url": f"git+{REPO_URL}.git",
        "repo": REPO_URL,
        "variant": VARIANT,
    }
    return dict(sorted(doc.items()))


def _yaml() -> YAML:
    yaml = YAML()
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096  # no folding: folded lines end in trailing spaces
    return yaml


def _dump(data: Any) -> str:
    buffer = io.StringIO()
    _yaml().dump(data, buffer)
    return buffer.getvalue()


def hub_path(name: str) -> Path:
    return ROOT / "plugins" / HUB_HEADERS[name]["plugin_type"] / f"{name}--{VARIANT}.yml"


def render(infos: dict[str, dict[str, Any]]) -> dict[Path, str]:
    """The wanted text of every file this script owns, keyed by path."""
    files = {hub_path(name): _dump(hub_document(name, info)) for name, info in infos.items()}
    yaml = _yaml()
    meltano_path = ROOT / "meltano.yml"
    project = yaml.load(meltano_path.read_text())
    for name, info in infos.items():
        wanted = definition(name, info)
        entries = project["plugins"][HUB_HEADERS[name]["plugin_type"]]
        entry = next(p for p in entries if p["name"] == name)
        for key in ("capabilities", "settings_group_validation", "settings"):
            entry[key] = wanted[key]
        if name == "tap-exactonline":
            entry["select"] = default_selection()
    buffer = io.StringIO()
    yaml.dump(project, buffer)
    files[meltano_path] = buffer.getvalue()
    readme = ROOT / "README.md"
    files[readme] = render_readme(readme.read_text())
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, change nothing")
    args = parser.parse_args(argv)
    files = render({name: about(name) for name in HUB_HEADERS})
    drift = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in drift:
            print(f"out of date: {path.relative_to(ROOT)} (run python plugins/sync_definitions.py)")
        return 1 if drift else 0
    for path in drift:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

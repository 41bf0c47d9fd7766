"""Issue 10: the layout's own rules, checked (import cycles, the domain speaking no CLI, unknown criteria)."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "vascular_cli"


def _imports():
    """module -> the package modules it imports (at any level, function-local imports included)."""
    graph = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        package = name.rsplit(".", 1)[0] if "." in name and path.name != "__init__.py" else (
            name if path.name == "__init__.py" else "")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{target}.{alias.name}" if target else alias.name
                    deps.add(full if (PKG / (full.replace(".", "/") + ".py")).exists() else target)
        graph[name or "__init__"] = {d for d in deps if d and d != name}
    return graph


def test_no_import_cycles():
    graph = _imports()
    cycles = []

    def visit(node, stack):
        if node in stack:
            cycles.append(stack[stack.index(node):] + [node])
            return
        for dep in sorted(graph.get(node, ())):
            if len(cycles) < 5:
                visit(dep, stack + [node])

    for start in sorted(graph):
        visit(start, [])
    assert cycles == []


@pytest.mark.parametrize("module", ["engine.py", "profile.py", "model.py", "vocab.py", "batch_matcher.py", "errors.py"])
def test_the_domain_names_facts_not_options(module):
    """Options (--factor, --ceap...) and CLI commands are words of the CLI front end (render/words.py, cli.py)."""
    text = (PKG / module).read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "'--" not in code and '"--' not in code and "vascular vocab" not in code and "vascular list" not in code


def test_unknown_criterion_keys_are_errors(kb):
    from vascular_cli.engine import CriteriaError, compile_criteria

    with pytest.raises(CriteriaError, match="unknown criterion 'cea'"):
        compile_criteria({"cea": ["C6"]}, kb.vocabulary)


def test_library_errors_carry_structured_data(kb):
    import vascular_cli

    with pytest.raises(vascular_cli.InputError) as e:
        vascular_cli.evaluate(kb, {"bleeding_risk": "medium"})
    assert (e.value.field, e.value.value, e.value.kind, e.value.valid) == (
        "bleeding_risk", "medium", "bleeding-risk", ("high", "low", "moderate"))
    assert "--" not in str(e.value)
    result = vascular_cli.evaluate(kb, {"ceap": "C6", "lesion": ["chronic-occlusion"]})
    facts = {f for m in result.matches for f in m.missing} | {f for f, _, _ in result.ask_next()}
    assert facts and not any(f.startswith("-") for f in facts)


def test_cache_key_covers_every_module_whose_output_it_stores():
    from vascular_cli.kbcache import CACHED_MODULES

    imported = set()
    for module in ("loader.py", "checks.py"):
        tree = ast.parse((PKG / module).read_text(encoding="utf-8"))
        imported |= {f"{n.module.replace('.', '/')}.py" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1
                     and n.module}
    assert imported - {"errors.py", "profile.py", "batch_matcher.py"} <= set(CACHED_MODULES) | {"errors.py"}


def test_a_field_declared_once_reaches_every_layer(kb):
    """pregnancy_trimester was added as one fields.py entry (+ the Profile attribute and the CLI parameter): the
    parser, the criteria compiler, the schema, the batch index and the CLI all know it."""
    import json

    from conftest import cli

    from vascular_cli.engine import compile_criteria
    from vascular_cli.fields import BY_KEY, SMALL
    from vascular_cli.schema import json_schema

    f = BY_KEY["pregnancy_trimester"]
    assert f.key in SMALL
    crit = compile_criteria({"pregnancy_trimester": {"min": 2}}, kb.vocabulary)[0]
    assert crit.requires == "pregnancy trimester >= 2"
    assert "pregnancy_trimester" in json.dumps(json_schema())
    doc = json.loads(cli("recommend", "--pregnancy-trimester", "2", "-f", "json").out)
    assert doc["profile"]["pregnancy_trimester"] == 2
    assert cli("recommend", "--pregnancy-trimester", "4").err.strip() == \
        "vascular: error: --pregnancy-trimester: 4 is outside the valid range 1-3"
    line = json.loads(cli("recommend", "--profiles", "-", stdin=b'{"pregnancy_trimester": 0}\n').out)
    assert line["error"] == "pregnancy_trimester: 0 is outside the valid range 1-3"

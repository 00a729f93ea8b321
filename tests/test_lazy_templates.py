"""Templates made during the warm-up's imports are compiled when first used
(``ui.lazy_templates``), and render what they rendered before."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import jinja2
import pytest

from tests.apptest import ROOT
from tests.sample_store import build_store
from ui.first_run_ready import FIRST_MAP_TEMPLATES, PAGE_SCRIPTS, compile_page_scripts
from ui.lazy_templates import LazyTemplate, templates_compiled_when_used

SOURCE = "{% macro header(this) %}<b>{{ this }}</b>{% endmacro %}{{ this | upper }}"


def test_a_template_made_in_the_block_compiles_on_first_use_and_renders_the_same(monkeypatch):
    compiled = []
    real = jinja2.Environment.from_string
    monkeypatch.setattr(jinja2.Environment, "from_string",
                        lambda self, *a, **k: compiled.append(1) or real(self, *a, **k))
    eager = jinja2.Template(SOURCE, trim_blocks=True)
    assert len(compiled) == 1
    with templates_compiled_when_used():
        lazy = jinja2.Template(SOURCE, trim_blocks=True)
    assert isinstance(lazy, LazyTemplate) and not lazy.is_compiled and len(compiled) == 1
    assert lazy.render(this="map") == eager.render(this="map") == "MAP"
    assert lazy.module.header("x") == eager.module.header("x")
    assert lazy.is_compiled and len(compiled) == 2   # once, then kept
    assert lazy.environment.trim_blocks
    # Outside the block templates are made as Jinja makes them.
    assert type(jinja2.Template(SOURCE)) is jinja2.Template


def test_the_block_gives_back_jinjas_own_constructor_even_on_error():
    before = vars(jinja2.Template)["__new__"]
    with pytest.raises(RuntimeError), templates_compiled_when_used():
        raise RuntimeError
    assert vars(jinja2.Template)["__new__"] is before


FIRST_MAP = """
import hashlib, json, logging, os, sys
logging.disable(logging.WARNING)
from ui import serve
if os.environ["WARM"] in ("1", "2"):
    serve.first_stage_collected()
if os.environ["WARM"] == "2":   # and what the warm-up readies for the first run
    from ui.first_run_ready import ready_first_run
    ready_first_run()
import folium
from ui.lazy_templates import LazyTemplate


def compiled_class_templates():   # the loaded classes whose lazy _template is compiled
    out = set()
    for name, module in list(sys.modules.items()):
        for value in list(vars(module).values()) if module else []:
            if isinstance(value, type) and value.__module__ == name:
                template = vars(value).get("_template")
                if isinstance(template, LazyTemplate) and template.is_compiled:
                    out.add(f"{name}.{value.__qualname__}")
    return out


before = compiled_class_templates()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(os.getcwd(), "dashboard.py"), default_timeout=300)
at.secrets["test"] = "no sign-in secrets"
at.session_state["auth_demo_role"] = os.environ["ROLE"]
at.switch_page(os.path.join(os.getcwd(), "pages", "explore.py"))
at.run()
assert not at.exception, [e.value for e in at.exception]
args = at.main.get("component_instance")[0].proto.json_args
print(json.dumps({"map": hashlib.sha256(args.encode()).hexdigest(), "bytes": len(args),
                  "lazy": isinstance(folium.Map._template, LazyTemplate),
                  "run compiled": sorted(compiled_class_templates() - before)}))
"""


@pytest.mark.parametrize("role", ["analyst", "chair"])
def test_the_first_map_after_the_warm_up_is_the_map_made_without_it(tmp_path, role):
    store = build_store(tmp_path / "store", {"nrm": 40, "rosewood": 20, "mandevilla": 12})
    env = {**os.environ, "STORE_URL": str(store.root), "PYTHONPATH": str(ROOT),
           "USERS_FILE": str(tmp_path / "no-users.json"),
           "ROLES_FILE": str(tmp_path / "no-roles.yaml"), "ROLE": role}
    made = {}
    for warm in ("2", "1", "0"):
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(FIRST_MAP)], cwd=ROOT,
                              env={**env, "WARM": warm}, capture_output=True, text=True,
                              timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        made[warm] = json.loads(done.stdout.strip().splitlines()[-1])
    assert made["1"]["lazy"] and not made["0"]["lazy"]
    assert made["1"]["map"] == made["0"]["map"] and made["1"]["bytes"] > 10_000
    # Templates compiled ahead of the first run (ui.first_run_ready): the same map, and the
    # run compiles none of the class templates itself; they are the ones it compiled.
    assert made["2"]["map"] == made["0"]["map"] and made["2"]["lazy"]
    assert made["2"]["run compiled"] == []
    named = set(FIRST_MAP_TEMPLATES)
    assert (set(made["1"]["run compiled"]) == named if role == "analyst"
            else set(made["1"]["run compiled"]) < named)


def test_the_page_scripts_go_into_the_script_cache_the_runner_uses(monkeypatch):
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    cache = ScriptCache()
    assert compile_page_scripts(cache) == 2
    for path in PAGE_SCRIPTS:
        assert str(path) in cache._cache
        assert cache.get_bytecode(str(path)) is cache._cache[str(path)]   # not compiled again
    monkeypatch.setattr(Runtime, "exists", staticmethod(lambda: False))
    assert compile_page_scripts() == 0   # no server running: nothing to fill

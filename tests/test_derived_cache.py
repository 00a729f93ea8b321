"""One folder for the derived-data caches (grids and the LSOA table), with the old per-cache
variables still honoured."""
from __future__ import annotations

from core import derived_cache
from data import grid_cache
from models import grid_store


def _clear(monkeypatch):
    for name in (derived_cache.ENV, grid_store.CACHE_DIR_ENV, grid_cache.CACHE_ENV):
        monkeypatch.delenv(name, raising=False)


def test_both_caches_share_one_default_folder(monkeypatch):
    _clear(monkeypatch)
    assert grid_store.cache_dir() == derived_cache.DEFAULT_DIR
    assert grid_cache.cache_path().parent == derived_cache.DEFAULT_DIR
    assert derived_cache.DEFAULT_DIR.parts[-2:] == ("instance", "cache")


def test_one_variable_moves_both(tmp_path, monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv(derived_cache.ENV, str(tmp_path / "derived"))
    assert grid_store.cache_dir() == tmp_path / "derived"
    assert grid_cache.cache_path() == tmp_path / "derived" / grid_cache.FILE_NAME
    # File names do not collide in the shared folder.
    assert grid_store.grid_path("centre", 100).name != grid_cache.FILE_NAME


def test_the_deprecated_variables_still_point_their_own_cache(tmp_path, monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv(derived_cache.ENV, str(tmp_path / "derived"))
    monkeypatch.setenv(grid_store.CACHE_DIR_ENV, str(tmp_path / "grids"))
    assert grid_store.cache_dir() == tmp_path / "grids"
    assert grid_cache.cache_path().parent == tmp_path / "derived"
    monkeypatch.setenv(grid_cache.CACHE_ENV, "  ")  # blank means unset
    assert grid_cache.cache_path().parent == tmp_path / "derived"
    monkeypatch.setenv(grid_cache.CACHE_ENV, str(tmp_path / "lsoa"))
    assert grid_cache.cache_path() == tmp_path / "lsoa" / grid_cache.FILE_NAME

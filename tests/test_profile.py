"""The watch profile: data, not code; clear errors for bad files."""
from __future__ import annotations

from pathlib import Path

import pytest

from dealwatch.profile import BUNDLED, ProfileError, load_profile


def test_bundled_profile_loads_with_canonical_parties():
    p = load_profile()
    names = {party.name for party in p.parties}
    for canonical in ("Microsoft", "Walmart", "Oracle", "Amazon", "Twitter", "Blackstone", "Andreessen Horowitz",
                      "Silver Lake", "General Atlantic", "Sequoia", "Perplexity AI", "Project Liberty", "AppLovin",
                      "MrBeast", "Employer.com", "Liberty Strategic Capital", "Triller", "Centricus", "SoftBank",
                      "Kevin O'Leary"):
        assert canonical in names
    assert set(p.vocab) == {"en", "de"} and p.target == "TikTok"


def test_aliases_resolve_to_canonical():
    p = load_profile()
    assert p.party("Oracle").pattern.search("Ellison's firm said")
    assert p.party("Liberty Strategic Capital").pattern.search("Mnuchin's fund is assembling a group")
    assert p.party("Walmart").pattern.search("der Walmart-Konzern")
    assert p.party("Microsoft").pattern.search("the Redmond company")


def test_roles_regulators_and_seller_are_not_candidates():
    p = load_profile()
    assert p.party("CFIUS").role == "government" and p.party("ByteDance").role == "seller"


def test_douyin_is_not_the_target():
    p = load_profile()
    assert p.not_target_rx.search("Douyin")


def test_none_means_bundled(tmp_path):
    assert load_profile(None).source == str(BUNDLED)


def test_user_can_add_alias_without_code(tmp_path: Path):
    text = BUNDLED.read_text(encoding="utf-8").replace(
        "aliases = ['Triller', 'Bobby Sarnevesht']", "aliases = ['Triller', 'Bobby Sarnevesht', 'the Triller app maker']")
    path = tmp_path / "custom.toml"
    path.write_text(text, encoding="utf-8")
    assert load_profile(path).party("Triller").pattern.search("the Triller app maker said")


def test_bad_toml_names_file_and_problem(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("[profile\nname = 'x'", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.toml.*not valid TOML"):
        load_profile(path)


def test_missing_table_is_named(tmp_path: Path):
    path = tmp_path / "partial.toml"
    path.write_text("[profile]\nname = 'x'\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"partial\.toml: missing table \[target\]"):
        load_profile(path)


@pytest.mark.parametrize("names, error", [
    ("['Tik(Tok'", r"regex\.toml: \[target\] names: bad pattern"),
    # a global inline flag is fine at the start of one pattern, and an error inside the joined alternation
    ("['(?i)tiktok', 'Tik\\s?Tok\\w*'", r"regex\.toml: the patterns do not work together .*global flags"),
])
def test_bad_regex_is_named(tmp_path: Path, names: str, error: str):
    text = BUNDLED.read_text(encoding="utf-8").replace("names = ['Tik\\s?Tok\\w*'", f"names = {names}")
    path = tmp_path / "regex.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=error):
        load_profile(path)


def test_unknown_role_is_rejected(tmp_path: Path):
    path = tmp_path / "role.toml"
    path.write_text(BUNDLED.read_text(encoding="utf-8") + '\n[[party]]\nname = "X"\naliases = ["X"]\nrole = "boss"\n',
                    encoding="utf-8")
    with pytest.raises(ProfileError, match=r"role must be one of"):
        load_profile(path)


def test_missing_file_is_a_profile_error(tmp_path: Path):
    with pytest.raises(ProfileError, match=r"nope\.toml: cannot read"):
        load_profile(tmp_path / "nope.toml")


def test_party_descriptions_and_timing_vocabulary_are_loaded():
    p = load_profile()
    assert p.party("Walmart").description_rx.search("the retailer")
    assert p.party("Oracle").description_rx.search("Der Softwarekonzern")
    assert p.party("Twitter").description_rx is None  # optional
    assert p.vocab["de"].rx("timing").fullmatch("Frist") and p.vocab["en"].rx("timing").fullmatch("deadline")


def test_bad_description_pattern_is_named(tmp_path: Path):
    text = BUNDLED.read_text(encoding="utf-8").replace("descriptions = ['retailer'", "descriptions = ['(retailer'", 1)
    path = tmp_path / "desc.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match="Walmart descriptions"):
        load_profile(path)


def test_a_profile_is_built_once_while_its_file_is_unchanged_and_again_when_it_changes(tmp_path: Path):
    path = tmp_path / "p.toml"
    text = BUNDLED.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_profile(path)
    assert load_profile(path) is first
    # the same size, other bytes, written at once: read again, not taken from the cache
    path.write_text(text.replace('name = "Microsoft"', 'name = "Microsofu"'), encoding="utf-8")
    changed = load_profile(path)
    assert changed is not first and "Microsofu" in {p.name for p in changed.parties}

"""scripts/release.sh (make release) against real servers and tools: the Distribution registry
that `make tools` builds (.tools/bin/registry) on a free loopback port, the pinned helm, and gpg
with a key pair made here. Every release runs in a throwaway clone of this repository, so no
test commits, tags or packages anything in the repository itself. The images are not built
here (RELEASE_IMAGES=0): they are proven with the cluster."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from chart_render import REPO

TOOLS_BIN = REPO / ".tools" / "bin"
REGISTRY_BIN = TOOLS_BIN / "registry"
CHART = "pantry-chef"
KEY_NAME = "Pantry Chef Release Test <release-test@example.invalid>"
#: What the release reads: overlaid from the working tree onto each clone, so that the tests
#: prove the files as they are now, committed or not.
RELEASE_INPUTS = (
    "scripts/release.sh",
    "scripts/check-chart-version.sh",
    "scripts/dev.sh",
    "helm/pantry-chef",
    "helm/pantry-lib",
)


def run(
    args: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- real servers and tools -----------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    gnupghome: Path
    pubring: Path  # the public key, in the legacy keyring format helm verify reads
    armored_secret: str


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    """A signing key pair made for the tests (RSA: helm's OpenPGP reads no EdDSA), no passphrase."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(
        [*gpg, "--quick-generate-key", KEY_NAME, "rsa2048", "sign", "never"],
        env=env,
        check=True,
        capture_output=True,
    )
    pubring = home / "pubring-legacy.gpg"
    pubring.write_bytes(
        subprocess.run(
            ["gpg", "--batch", "--export", KEY_NAME], env=env, check=True, capture_output=True
        ).stdout
    )
    armored = subprocess.run(
        [*gpg, "--armor", "--export-secret-keys", KEY_NAME],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert pubring.stat().st_size > 0 and "PRIVATE KEY BLOCK" in armored
    try:
        yield Keys(home, pubring, armored)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


def base_env(tmp: Path) -> dict[str, str]:
    """Git without the user's configuration, helm with its own folders, the pinned tools first."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "HELM_", "GITHUB_"))
        and key not in ("CHART_BASE", "VERSION", "REGISTRY", "SIGNING_KEY", "COSIGN", "DRY_RUN")
    }
    helm_home = tmp / "helm-home"
    env.update(
        PATH=f"{TOOLS_BIN}{os.pathsep}{env.get('PATH', '')}",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Release Test",
        GIT_AUTHOR_EMAIL="release-test@example.invalid",
        GIT_COMMITTER_NAME="Release Test",
        GIT_COMMITTER_EMAIL="release-test@example.invalid",
        HELM_CONFIG_HOME=str(helm_home / "config"),
        HELM_CACHE_HOME=str(helm_home / "cache"),
        HELM_DATA_HOME=str(helm_home / "data"),
    )
    return env


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    result = run(["git", "-C", str(repo), *args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def make_clone(source: Path, dest: Path, env: dict[str, str]) -> Path:
    """A clone of the repository with the working tree's release files committed on top."""
    git(dest.parent, env, "clone", "--quiet", str(source), str(dest))
    if source == REPO:
        listed = git(REPO, env, "ls-files", "-co", "--exclude-standard", "--", *RELEASE_INPUTS)
        for name in listed.splitlines():
            if (REPO / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, dest / name)
        if git(dest, env, "status", "--porcelain"):
            git(dest, env, "add", "-A")
            git(dest, env, "commit", "--quiet", "-m", "the working tree's release files")
    return dest


def release(clone: Path, env: dict[str, str], **variables: str) -> subprocess.CompletedProcess[str]:
    """scripts/release.sh, as `make release` runs it (the target only adds `make tools`)."""
    return run(["bash", "scripts/release.sh"], {**env, **variables}, cwd=clone, timeout=110)


def chart_yaml(clone: Path) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((clone / "helm" / CHART / "Chart.yaml").read_text())
    return loaded


def helm(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    if "-d" in args:  # helm pull writes only into a folder that exists
        Path(args[args.index("-d") + 1]).mkdir(parents=True, exist_ok=True)
    return run([str(TOOLS_BIN / "helm"), *args], env)


# --- one release, looked at from several sides ----------------------------------------------------


@dataclass(frozen=True)
class Released:
    clone: Path
    env: dict[str, str]
    version: str
    revision: str  # the short revision the release started from
    package: Path  # what release.sh packaged (dist/charts/)
    pulled: Path  # what helm pull brought back from the registry
    output: str


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, registry: str, keys: Keys) -> Released:
    tmp = tmp_path_factory.mktemp("release")
    env = base_env(tmp)
    clone = make_clone(REPO, tmp / "clone", env)
    revision = git(clone, env, "rev-parse", "--short=12", "HEAD")
    current = str(chart_yaml(clone)["version"])
    major, minor, _ = current.split(".")
    version = f"{major}.{int(minor) + 1}.0"
    result = release(
        clone,
        env,
        VERSION=version,
        REGISTRY=f"{registry}/pantry",
        REGISTRY_PLAIN_HTTP="1",
        RELEASE_IMAGES="0",
        SIGNING_KEY=KEY_NAME,
        GNUPGHOME=str(keys.gnupghome),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    pulled_dir = tmp / "pulled"
    pull = helm(
        env,
        "pull",
        f"oci://{registry}/pantry/charts/{CHART}",
        "--version",
        version,
        "--prov",
        "--plain-http",
        "-d",
        str(pulled_dir),
    )
    assert pull.returncode == 0, pull.stderr
    return Released(
        clone=clone,
        env=env,
        version=version,
        revision=revision,
        package=clone / "dist" / "charts" / f"{CHART}-{version}.tgz",
        pulled=pulled_dir / f"{CHART}-{version}.tgz",
        output=result.stdout,
    )


def test_release_bumps_commits_and_tags(released: Released) -> None:
    chart = chart_yaml(released.clone)
    assert chart["version"] == released.version
    # appVersion is the revision the images are built from, as make dev tags them, kept a string.
    assert chart["appVersion"] == released.revision
    assert (
        f'appVersion: "{released.revision}"'
        in (released.clone / "helm" / CHART / "Chart.yaml").read_text()
    )
    env, clone = released.env, released.clone
    assert (
        git(clone, env, "show", "--name-only", "--format=", "HEAD") == "helm/pantry-chef/Chart.yaml"
    )
    assert git(clone, env, "rev-parse", "--short=12", "HEAD~1") == released.revision
    tag = f"chart-v{released.version}"
    assert git(clone, env, "rev-parse", f"{tag}^{{commit}}") == git(clone, env, "rev-parse", "HEAD")
    assert git(clone, env, "cat-file", "-t", tag) == "tag", "an annotated tag"
    assert git(clone, env, "status", "--porcelain") == "", "the release leaves a clean tree"


def test_helm_pull_returns_the_same_bytes(released: Released) -> None:
    assert sha256(released.pulled) == sha256(released.package)
    assert sha256(released.pulled.with_suffix(".tgz.prov")) == sha256(
        released.package.with_suffix(".tgz.prov")
    )


def test_the_pulled_package_verifies(released: Released, keys: Keys) -> None:
    result = helm(released.env, "verify", str(released.pulled), "--keyring", str(keys.pubring))
    assert result.returncode == 0, result.stderr
    assert "Signed by: Pantry Chef Release Test" in result.stdout


def test_a_tampered_package_is_refused(released: Released, keys: Keys, tmp_path: Path) -> None:
    """One byte of one template changed, the package made again: its digest no longer matches."""
    changed = False
    out = io.BytesIO()
    with (
        tarfile.open(released.pulled, "r:gz") as original,
        tarfile.open(fileobj=out, mode="w:gz") as tampered,
    ):
        for member in original.getmembers():
            extracted = original.extractfile(member)
            data = extracted.read() if extracted else None
            if data and not changed and member.name.startswith(f"{CHART}/templates/"):
                data = bytes([data[0] ^ 0x20]) + data[1:]
                changed = True
            tampered.addfile(member, io.BytesIO(data) if data is not None else None)
    assert changed, "the package has no template to change"
    package = tmp_path / released.pulled.name
    package.write_bytes(out.getvalue())
    shutil.copy2(released.pulled.with_suffix(".tgz.prov"), tmp_path / f"{package.name}.prov")
    result = helm(released.env, "verify", str(package), "--keyring", str(keys.pubring))
    assert result.returncode != 0, result.stdout
    assert "sha256 sum does not match" in result.stderr, result.stderr


def test_a_package_signed_by_another_key_is_refused(released: Released, tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**released.env, "GNUPGHOME": str(home)}
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    try:
        made = run([*gpg, "--quick-generate-key", "Someone Else <else@example.invalid>"], env)
        assert made.returncode == 0, made.stderr
        other = tmp_path / "other.gpg"
        other.write_bytes(
            subprocess.run(["gpg", "--batch", "--export"], env=env, capture_output=True).stdout
        )
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)
    result = helm(released.env, "verify", str(released.pulled), "--keyring", str(other))
    assert result.returncode != 0 and "signature" in result.stderr.lower(), result.stderr


def test_the_tagged_release_is_published_as_it_is(
    released: Released, registry: str, keys: Keys, tmp_path: Path
) -> None:
    """What the release workflow does on the pushed tag: a clone of the tag, the key from a secret
    (SIGNING_KEY_ASC, no keyring of the user's), no new commit."""
    env = {**released.env, "GNUPGHOME": str(tmp_path / "no-keys-here")}
    tag = f"chart-v{released.version}"
    clone = tmp_path / "ci"
    git(tmp_path, env, "clone", "--quiet", "--branch", tag, str(released.clone), str(clone))
    outputs = tmp_path / "github-output"
    outputs.touch()
    variables = {
        "VERSION": released.version,
        "REGISTRY": f"{registry}/ci",
        "REGISTRY_PLAIN_HTTP": "1",
        "RELEASE_IMAGES": "0",
        "SIGNING_KEY": KEY_NAME,
        "SIGNING_KEY_ASC": keys.armored_secret,
        "GITHUB_OUTPUT": str(outputs),
    }
    dry = release(clone, env, **variables, DRY_RUN="1")
    assert dry.returncode == 0, dry.stderr
    assert "publishing it" in dry.stdout and "nothing changed" in dry.stdout
    assert f"app-version={released.revision}\n" in outputs.read_text()
    assert f"tag={tag}\n" in outputs.read_text()
    assert (
        helm(
            env,
            "pull",
            f"oci://{registry}/ci/charts/{CHART}",
            "--version",
            released.version,
            "--plain-http",
            "-d",
            str(tmp_path / "nothing"),
        ).returncode
        != 0
    ), "a dry run pushes nothing"

    head = git(clone, env, "rev-parse", "HEAD")
    result = release(clone, env, **variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(clone, env, "rev-parse", "HEAD") == head, "publishing makes no commit"
    assert "chart-digest=sha256:" in outputs.read_text()
    pull = helm(
        env,
        "pull",
        f"oci://{registry}/ci/charts/{CHART}",
        "--version",
        released.version,
        "--prov",
        "--plain-http",
        "-d",
        str(tmp_path / "pulled"),
    )
    assert pull.returncode == 0, pull.stderr
    pulled = tmp_path / "pulled" / f"{CHART}-{released.version}.tgz"
    verify = helm(env, "verify", str(pulled), "--keyring", str(keys.pubring))
    assert verify.returncode == 0, verify.stderr
    assert (
        yaml.safe_load(
            tarfile.open(pulled).extractfile(f"{CHART}/Chart.yaml").read()  # type: ignore[union-attr]
        )["appVersion"]
        == released.revision
    )


# --- refusals -------------------------------------------------------------------------------------


@pytest.fixture
def clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = base_env(tmp_path)
    return make_clone(REPO, tmp_path / "clone", env), env


def assert_untouched(clone: Path, env: dict[str, str], head: str, registry: str, path: str) -> None:
    assert git(clone, env, "rev-parse", "HEAD") == head
    assert git(clone, env, "tag", "--list", "chart-v*") == ""
    catalog = urllib.request.urlopen(f"http://{registry}/v2/_catalog", timeout=5).read().decode()
    assert f"{path}/charts/{CHART}" not in catalog


def test_a_dirty_tree_is_refused(clone: tuple[Path, dict[str, str]], registry: str) -> None:
    repo, env = clone
    head = git(repo, env, "rev-parse", "HEAD")
    with (repo / "README.md").open("a") as readme:
        readme.write("an uncommitted line\n")
    (repo / "untracked.txt").write_text("new\n")
    result = release(
        repo,
        env,
        VERSION="99.0.0",
        REGISTRY=f"{registry}/dirty",
        REGISTRY_PLAIN_HTTP="1",
        RELEASE_IMAGES="0",
    )
    assert result.returncode == 1
    assert "the working tree is not clean" in result.stderr
    assert "README.md" in result.stderr and "untracked.txt" in result.stderr
    assert_untouched(repo, env, head, registry, "dirty")


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("same", "is not greater than"),
        ("0.0.1", "is not greater than"),
        ("1.0", "is not a SemVer version"),
    ],
)
def test_a_version_not_greater_is_refused(
    clone: tuple[Path, dict[str, str]], registry: str, version: str, reason: str
) -> None:
    repo, env = clone
    current = str(chart_yaml(repo)["version"])
    if version == "same":
        version = current
    head = git(repo, env, "rev-parse", "HEAD")
    result = release(
        repo,
        env,
        VERSION=version,
        REGISTRY=f"{registry}/refused",
        REGISTRY_PLAIN_HTTP="1",
        RELEASE_IMAGES="0",
    )
    assert result.returncode == 1
    assert f"VERSION={version} refused" in result.stderr and reason in result.stderr, result.stderr
    assert f"at {current}" in result.stderr
    assert_untouched(repo, env, head, registry, "refused")
    assert chart_yaml(repo)["version"] == current


def test_a_missing_signing_key_is_refused_before_anything_changes(
    clone: tuple[Path, dict[str, str]], registry: str, tmp_path: Path
) -> None:
    repo, env = clone
    (tmp_path / "empty-gnupg").mkdir(mode=0o700)
    head = git(repo, env, "rev-parse", "HEAD")
    result = release(
        repo,
        env,
        VERSION="99.0.0",
        REGISTRY=f"{registry}/nokey",
        REGISTRY_PLAIN_HTTP="1",
        RELEASE_IMAGES="0",
        SIGNING_KEY="nobody@example.invalid",
        GNUPGHOME=str(tmp_path / "empty-gnupg"),
    )
    assert result.returncode == 1
    assert "gpg has no secret key nobody@example.invalid" in result.stderr, result.stderr
    assert_untouched(repo, env, head, registry, "nokey")
    subprocess.run(
        ["gpgconf", "--kill", "gpg-agent"],
        env={**env, "GNUPGHOME": str(tmp_path / "empty-gnupg")},
        check=False,
    )

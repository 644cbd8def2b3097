/**
 * The shapes of four public repositories as their file lists stand (contents shortened): what a
 * new user would point the product at. Built in temp dirs by the tests, never fetched.
 */

const py = (name: string) => `"""${name}"""\n\ndef f():\n    return 1\n`;
const go = (name: string) => `package pflag\n\n// ${name}\nfunc ${name.replace(/\W/g, '_')}() {}\n`;
const goTest = (name: string) =>
  `package pflag\n\nimport "testing"\n\nfunc Test_${name.replace(/\W/g, '_')}(t *testing.T) {}\n`;

/** sindresorhus/p-limit: two modules at the root, their tests beside them. */
export const P_LIMIT: Record<string, string> = {
  '.editorconfig': 'root = true\n',
  '.gitattributes': '* text=auto eol=lf\n',
  '.github/funding.yml': 'github: sindresorhus\n',
  '.github/security.md': '# Security Policy\n',
  '.github/workflows/main.yml': 'name: CI\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n',
  '.gitignore': 'node_modules\n',
  '.npmrc': 'package-lock=false\n',
  'index.d.ts': 'export type LimitFunction = {readonly activeCount: number};\n',
  'index.js':
    "import Queue from 'yocto-queue';\n\nexport default function pLimit(concurrency) {\n\tconst queue = new Queue();\n\treturn queue;\n}\n",
  'index.test-d.ts':
    "import {expectType} from 'tsd';\nimport pLimit from './index.js';\n\nexpectType<number>(pLimit(1).activeCount);\n",
  license: 'MIT License\n',
  'package.json': JSON.stringify(
    {
      name: 'p-limit',
      type: 'module',
      exports: { types: './index.d.ts', default: './index.js' },
      scripts: { test: 'xo && ava && tsd' },
      files: ['index.js', 'index.d.ts'],
    },
    null,
    '\t',
  ),
  'readme.md': '# p-limit\n',
  'test.js':
    "import test from 'ava';\nimport pLimit from './index.js';\n\ntest('concurrency: 1', async t => {\n\tt.is(pLimit(1).activeCount, 0);\n});\n",
};

/** pallets/itsdangerous: a src layout, tests, Sphinx docs, a dev container. */
export const ITSDANGEROUS: Record<string, string> = {
  '.devcontainer/devcontainer.json': '{"name": "pallets/itsdangerous"}\n',
  '.devcontainer/on-create-command.sh':
    '#!/bin/bash\nset -e\npython3 -m venv --upgrade-deps .venv\n. .venv/bin/activate\npip install -r requirements/dev.txt\npip install -e .\npre-commit install --install-hooks\n',
  '.editorconfig': 'root = true\n',
  '.github/ISSUE_TEMPLATE/bug-report.md': '---\nname: Bug report\n---\n',
  '.github/ISSUE_TEMPLATE/config.yml': 'blank_issues_enabled: false\n',
  '.github/ISSUE_TEMPLATE/feature-request.md': '---\nname: Feature request\n---\n',
  '.github/pull_request_template.md': 'Describe the change.\n',
  '.github/workflows/lock.yaml': 'name: Lock inactive closed issues\n',
  '.github/workflows/pre-commit.yaml': 'name: pre-commit\n',
  '.github/workflows/publish.yaml': 'name: Publish\n',
  '.github/workflows/tests.yaml': 'name: Tests\n',
  '.gitignore': '.venv/\n',
  '.pre-commit-config.yaml': 'repos: []\n',
  '.readthedocs.yaml': 'version: 2\n',
  'CHANGES.rst': 'Version 2.2.0\n-------------\n',
  'LICENSE.txt': 'Copyright 2011 Pallets\n',
  'README.md': '# ItsDangerous\n',
  'docs/Makefile': 'html:\n\tsphinx-build . _build\n',
  'docs/changes.rst': 'Changes\n=======\n',
  'docs/conf.py':
    'from pallets_sphinx_themes import get_version\n\nproject = "ItsDangerous"\nextensions = ["sphinx.ext.autodoc"]\n',
  'docs/encoding.rst': 'Encoding Utilities\n',
  'docs/exceptions.rst': 'Exceptions\n',
  'docs/index.rst': 'ItsDangerous\n============\n',
  'docs/license.rst': 'BSD-3-Clause License\n',
  'docs/make.bat': '@ECHO OFF\n',
  'docs/serializer.rst': 'Serialization Interface\n',
  'docs/signer.rst': 'Signing Interface\n',
  'docs/timed.rst': 'Signing With Timestamps\n',
  'docs/url_safe.rst': 'URL Safe Serialization\n',
  'pyproject.toml':
    '[project]\nname = "itsdangerous"\nrequires-python = ">=3.8"\n\n[tool.pytest.ini_options]\ntestpaths = ["tests"]\nfilterwarnings = ["error"]\n',
  'requirements/dev.txt': 'pytest\n',
  'requirements/docs.txt': 'sphinx\n',
  'requirements/tests.txt': 'pytest\nfreezegun\n',
  'src/itsdangerous/__init__.py': py('itsdangerous'),
  'src/itsdangerous/_json.py': py('json'),
  'src/itsdangerous/encoding.py': py('encoding'),
  'src/itsdangerous/exc.py': py('exc'),
  'src/itsdangerous/py.typed': '',
  'src/itsdangerous/serializer.py': py('serializer'),
  'src/itsdangerous/signer.py': py('signer'),
  'src/itsdangerous/timed.py': py('timed'),
  'src/itsdangerous/url_safe.py': py('url_safe'),
  'tests/test_itsdangerous/test_encoding.py': 'import freezegun\n\ndef test_base64():\n    pass\n',
  'tests/test_itsdangerous/test_serializer.py': 'def test_dumps():\n    pass\n',
  'tests/test_itsdangerous/test_signer.py': 'def test_sign():\n    pass\n',
  'tests/test_itsdangerous/test_timed.py': 'import freezegun\n\ndef test_timed():\n    pass\n',
  'tests/test_itsdangerous/test_url_safe.py': 'def test_url_safe():\n    pass\n',
  'tox.ini': '[tox]\nenvlist = py3{12,11,10,9,8}\n',
};

const PFLAG_SOURCES = [
  'bool',
  'bool_slice',
  'bytes',
  'count',
  'duration',
  'duration_slice',
  'errors',
  'flag',
  'float32',
  'float32_slice',
  'float64',
  'float64_slice',
  'func',
  'golangflag',
  'int',
  'int16',
  'int32',
  'int32_slice',
  'int64',
  'int64_slice',
  'int8',
  'int_slice',
  'ip',
  'ip_slice',
  'ipmask',
  'ipnet',
  'ipnet_slice',
  'string',
  'string_array',
  'string_slice',
  'string_to_int',
  'string_to_int64',
  'string_to_string',
  'text',
  'time',
  'uint',
  'uint16',
  'uint32',
  'uint64',
  'uint8',
  'uint_slice',
];
const PFLAG_TESTS = [
  'bool_slice_test',
  'bool_test',
  'bytes_test',
  'count_test',
  'duration_slice_test',
  'errors_test',
  'example_test',
  'export_test',
  'flag_test',
  'float32_slice_test',
  'float64_slice_test',
  'func_test',
  'golangflag_test',
  'int32_slice_test',
  'int64_slice_test',
  'int_slice_test',
  'ip_slice_test',
  'ip_test',
  'ipnet_slice_test',
  'ipnet_test',
  'printusage_test',
  'string_array_test',
  'string_slice_test',
  'string_to_int64_test',
  'string_to_int_test',
  'string_to_string_test',
  'text_test',
  'time_test',
  'uint_slice_test',
];

/** spf13/pflag: one package of Go files at the root, tests beside them, scripts in verify/. */
export const PFLAG: Record<string, string> = {
  '.github/.editorconfig': 'root = false\n',
  '.github/dependabot.yaml': 'version: 2\n',
  '.github/workflows/ci.yaml': 'name: CI\n',
  '.gitignore': '.idea/*\n',
  '.golangci.yaml': 'linters: {}\n',
  LICENSE: 'Copyright (c) 2012 Alex Ogier\n',
  'README.md': '# pflag\n',
  'go.mod': 'module github.com/spf13/pflag\n\ngo 1.12\n',
  'go.sum': '',
  'verify/all.sh': '#!/bin/bash\nset -o errexit\nROOT=$(dirname "$0")/..\n',
  'verify/gofmt.sh': '#!/bin/bash\nset -o errexit\ngofmt -s -l .\n',
  'verify/golint.sh': '#!/bin/bash\ngolint ./...\n',
  ...Object.fromEntries(PFLAG_SOURCES.map((n) => [`${n}.go`, go(n)])),
  ...Object.fromEntries(PFLAG_TESTS.map((n) => [`${n}.go`, goTest(n)])),
};

/** dtolnay/itoa: two modules in src/, a bench, a fuzz target, an integration test. */
export const ITOA: Record<string, string> = {
  '.github/FUNDING.yml': 'github: dtolnay\n',
  '.github/workflows/ci.yml': 'name: CI\n',
  '.gitignore': '/target/\n/Cargo.lock\n',
  'Cargo.toml': '[package]\nname = "itoa"\nversion = "1.0.15"\nedition = "2018"\n\n[dev-dependencies]\n',
  'LICENSE-APACHE': 'Apache License\n',
  'LICENSE-MIT': 'Permission is hereby granted\n',
  'README.md': 'itoa\n====\n',
  'benches/bench.rs':
    '#![feature(test)]\nextern crate test;\n\n#[bench]\nfn bench_u64(b: &mut test::Bencher) {}\n',
  'fuzz/.gitignore': 'artifacts/\ncorpus/\n',
  'fuzz/Cargo.toml': '[package]\nname = "itoa-fuzz"\n',
  'fuzz/fuzz_targets/fuzz_itoa.rs':
    '#![no_main]\nuse libfuzzer_sys::fuzz_target;\n\nfuzz_target!(|data: &[u8]| {});\n',
  'src/lib.rs': 'mod udiv128;\n\npub struct Buffer {\n    bytes: [u8; 40],\n}\n',
  'src/udiv128.rs': 'pub fn udivmod_1e19(n: u128) -> (u128, u64) {\n    (n, 0)\n}\n',
  'tests/test.rs': '#[test]\nfn test_u64_0() {\n    assert_eq!(itoa::Buffer::new().format(0u64), "0");\n}\n',
};

export const PFLAG_SOURCE_FILES = PFLAG_SOURCES.map((n) => `${n}.go`).sort();
export const PFLAG_TEST_FILES = PFLAG_TESTS.length;

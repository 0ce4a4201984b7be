"""Run a script as ``__main__`` and write where its wall time went (imports per package, pipeline phases).

    python benchmarks/stamped_run.py OUT.json[@SPAWN_TIME] SCRIPT [ARGS...]

Used by bench_whole_process.py --breakdown. Nothing is changed in what the script does: imports are
timed by wrapping importlib's loader entry, and a few pipeline functions (named in PHASES) by wrapping
them once their module is imported. Each phase's time excludes the imports made inside it, and an import
is charged to the first non-faig package that pulled it in (scipy imported by basicsr counts as basicsr),
except that torch and torchvision have accounts of their own (torchvision's import of torch._dynamo counts
as torchvision, whoever imported torchvision), so the numbers add up without double counting. With
FAIG_BENCH_FULL_IMPORT=1 the full basicsr import (``faig.register()``) runs first, as every run did before
the light arch build. With FAIG_BENCH_CLOCK=cpu every figure but the interpreter start is CPU time
(``time.process_time``, all threads of this process) rather than wall time: on a machine shared with other work
it measures what the run itself costs.
"""
import importlib._bootstrap as bootstrap
import os
import json
import runpy
import sys
import time

T0 = time.perf_counter()
CLOCK = time.process_time if os.environ.get('FAIG_BENCH_CLOCK') == 'cpu' else time.perf_counter
STARTED = float(sys.argv[1].split('@')[1]) if '@' in sys.argv[1] else None  # parent's time.time() at spawn

# (module, attribute) -> phase name. Functions that nest (integrate_gradients calls per_input_grads) are
# timed exclusively: the outer phase is its own time less that of the inner phases.
PHASES = {
    ('faig.networks', 'build_network'): 'build network',
    ('faig.networks', 'load_params'): 'load checkpoints',
    ('faig.networks', 'fit'): 'load state into network',
    ('faig.store.records', 'state_digest'): 'hash models',
    ('faig.attribution.runner', 'inputs_digest'): 'hash images',
    ('faig.attribution.runner', 'check_image_sets'): 'read + check all images',
    ('faig.attribution.runner', 'load_image_set'): 'read images for the passes',
    ('faig.attribution.pipeline', 'choose_layout'): 'layout (--layout auto)',
    ('faig.attribution.filters', 'require_weight_change'): 'check weight change',
    ('faig.attribution.methods', 'FAIG.setup'): 'path setup',
    ('faig.attribution.faig', 'integrate_gradients'): 'endpoint forwards + path moves',
    ('faig.attribution.faig', 'per_input_grads'): 'node passes (fwd+bwd)',
    ('faig.attribution.faig', 'node_batch_grads'): 'node passes (fwd+bwd)',
    ('faig.attribution.faig', 'filter_scores'): 'per-filter scores + completeness',
    ('faig.attribution.faig', 'PathIntegral.completeness'): 'per-filter scores + completeness',
    ('faig.attribution.ranking', 'write_rankings'): 'write rankings',
    ('faig.cli.attribution', 'report'): 'print report',
}

imports = {}  # package -> seconds
phases = {}  # phase -> seconds
stack = []  # import frames: [name, start, child seconds]
phase_stack = []  # phase frames: [name, start, child seconds (imports + inner phases)]


ACCOUNTS = ('torch', 'torchvision')  # charged on their own, whoever imports them


def charge(name):
    """The package an import is charged to: torch or torchvision when it is (part of) their import, else the
    outermost non-faig import on the stack, else its own."""
    for inner in [name] + [frame[0] for frame in reversed(stack)]:
        if inner in ACCOUNTS:
            return inner
    for frame in stack:
        root = frame[0].split('.')[0]
        if root != 'faig':
            return root
    return name.split('.')[0]


real_find_and_load = bootstrap._find_and_load


def find_and_load(name, import_):
    if name in sys.modules:
        return real_find_and_load(name, import_)
    stack.append([name, CLOCK(), 0.0])
    try:
        return real_find_and_load(name, import_)
    finally:
        frame = stack.pop()
        total = CLOCK() - frame[1]
        pkg = charge(name)
        imports[pkg] = imports.get(pkg, 0.0) + total - frame[2]
        if stack:
            stack[-1][2] += total
        elif phase_stack:
            phase_stack[-1][2] += total
        patch(name)


def timed(phase, fn):
    def wrapper(*args, **kwargs):
        phase_stack.append([phase, CLOCK(), 0.0])
        try:
            return fn(*args, **kwargs)
        finally:
            frame = phase_stack.pop()
            total = CLOCK() - frame[1]
            phases[phase] = phases.get(phase, 0.0) + total - frame[2]
            if phase_stack:
                phase_stack[-1][2] += total
    wrapper.__wrapped__ = fn
    return wrapper


def patch(module_name):
    module = sys.modules.get(module_name)
    for (mod, attr), phase in PHASES.items():
        if mod != module_name or module is None:
            continue
        owner, _, leaf = attr.rpartition('.')
        target = getattr(module, owner) if owner else module
        fn = getattr(target, leaf, None)
        if fn is not None and not hasattr(fn, '__wrapped__'):
            setattr(target, leaf, timed(phase, fn))


def main():
    out = sys.argv[1].split('@')[0]
    script, args = sys.argv[2], sys.argv[3:]
    bootstrap._find_and_load = find_and_load
    for name in list(sys.modules):
        patch(name)
    sys.argv = [script, *args]
    begin, wall_begin = CLOCK(), time.perf_counter()
    code = 0
    try:
        if os.environ.get('FAIG_BENCH_FULL_IMPORT') == '1':
            import faig
            faig.register()
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exc:
        code = exc.code or 0
    end = CLOCK()
    phases['rest (argument parsing, checks, python work)'] = end - begin - sum(phases.values()) - sum(imports.values())
    record = {'imports': imports, 'phases': phases, 'script_seconds': end - begin,
              'before_script_seconds': wall_begin - T0,
              'interpreter_start_seconds': begin if CLOCK is time.process_time  # the CPU spent before the script
              else time.time() - (time.perf_counter() - T0) - STARTED if STARTED else None,
              'clock': CLOCK.__name__,
              'exit': code}
    with open(out, 'w') as f:
        json.dump(record, f, indent=1)
    sys.exit(code)


if __name__ == '__main__':
    main()

"""Sample quality against the number of network evaluations (NFE), per sampler.

    python -m benchmarks.sampler_quality --workdir=runs/ddim --num_samples=500 \
        --runs=ddim:10:0,ddim:10:1,ddim:50:1,ddpm:1000

Each run is sampler:steps[:eta]; every run draws the same number of samples from the run's
newest checkpoint with the same key and is scored by the run's evaluation settings (on
Fashion-MNIST the shipped classifier's feature distance). Prints one markdown row per run.
With few samples the Fréchet distance is biased upwards: compare rows, not papers.
"""

import argparse
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--num_samples", type=int, default=500)
    parser.add_argument("--batch_size", type=int, default=250)
    parser.add_argument("--runs", default="ddim:10:0,ddim:50:0")
    parser.add_argument("--metrics", default="fd,kid,pr")
    parser.add_argument(
        "--ode_tol", type=float, default=0.0, help="ODE rtol = atol (default: run's)"
    )
    parser.add_argument(
        "--defaults",
        default="configs/base.py",
        help="config whose fields fill in what an older run's config.json lacks",
    )
    args = parser.parse_args()

    import jax

    from benchmarks.common import device_name, load_config
    from v101jax.algorithms import get_algorithm
    from v101jax.algorithms.contract import with_sample_options
    from v101jax.training import sampling
    from v101jax.training.evaluation import Evaluator
    from v101jax.training.export import load_run_config, load_state

    config = load_run_config(args.workdir, load_config(args.defaults))
    with config.unlocked():
        config.eval.num_samples = args.num_samples
        config.eval.batch_size = args.batch_size
        config.eval.metrics = tuple(args.metrics.split(","))
        config.eval.kid_subset_size = min(config.eval.kid_subset_size, args.num_samples)
        if args.ode_tol:
            config.sample.ode_rtol = config.sample.ode_atol = args.ode_tol
    state = load_state(config, args.workdir)
    evaluator = Evaluator(config, args.workdir)
    print(
        f"workdir={args.workdir} step={int(state.step)} device={device_name()} "
        f"num_samples={args.num_samples}"
    )
    header = None
    for run in args.runs.split(","):
        name, steps, *eta = run.split(":")
        run_config = with_sample_options(
            config,
            get_algorithm(config.algorithm),
            sampler=name,
            steps=int(steps),
            eta=float(eta[0]) if eta else None,
        )
        start = time.perf_counter()
        scores = evaluator.score_model(
            sampling.chunked_sampler(run_config), state, jax.random.PRNGKey(0)
        )
        seconds = time.perf_counter() - start
        if header is None:
            header = list(scores)
            print("| sampler | steps | η | " + " | ".join(header) + " | wall |")
            print("| --- " * (len(header) + 4) + "|")
        cells = " | ".join(f"{scores[k]:.3g}" for k in header)
        print(
            f"| {name} | {steps} | {eta[0] if eta else '-'} | {cells} | {seconds:.0f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()

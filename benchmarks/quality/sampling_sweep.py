"""Sweep the sampler's knobs (CFG, top-p, temperature, steps, MoG noise, mixture temperature) on the shipped image model.

    python benchmarks/quality/sampling_sweep.py [--n-per-class 20] [--model DIR]

For each setting: accuracy of the evaluation classifier at labelling the samples as requested,
and the Frechet distance between the classifier's penultimate features of the samples and of
2,000 test images ("FD-clf": a cheap diversity-aware proxy used for tuning, *not* FID).
Needs the Fashion-MNIST test set (make data).
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools

import torch

import resgen
from resgen.eval.classifier import Classifier
from resgen.image.data import load_fashion_mnist
from resgen.eval.image import balanced_subset, generate_all, machine
from resgen.eval.metrics import feature_stats, frechet_distance
from resgen.core.weights import load_module


def penultimate(clf: Classifier, x: torch.Tensor) -> torch.Tensor:
    h = clf.features((x[:, None] - 0.286) / 0.353)
    return clf.head[:-1](h)                                  # (M, 128) before the last linear layer


@torch.no_grad()
def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=None)
    p.add_argument("--n-per-class", type=int, default=20)
    p.add_argument("--cfg", default="1,2,3,5")
    p.add_argument("--top-p", default="0.8,1.0")
    p.add_argument("--temperature", default="0.5,1,2")
    p.add_argument("--steps", default="16")
    p.add_argument("--mog-noise", default="0", help="MoG draw = mean + this x sigma x N(0, I)")
    p.add_argument("--pi-temperature", default="1", help="mixture logits / this before the component draw")
    p.add_argument("--cfg-schedule", default="constant", help="constant and/or linear (comma-separated)")
    p.add_argument("--batch", type=int, default=250, help="images per sampling call")
    p.add_argument("--device", default="cpu", help="cpu or cuda (torch backend on cuda)")
    p.add_argument("--classifier", default=None, help="classifier.safetensors (default: the model folder's)")
    args = p.parse_args()
    pipe = resgen.load("image", model_dir=args.model, device=args.device)
    clf_path = args.classifier or pipe.model_dir / "classifier.safetensors"
    clf = load_module(Classifier(), clf_path).eval().to(args.device)
    xt, yt = load_fashion_mnist("test")
    ref = torch.from_numpy(xt.copy()).float().div(255)[balanced_subset(torch.from_numpy(yt), 2000)]
    ref_stats = feature_stats(penultimate(clf, ref.to(args.device)).cpu().numpy())
    print(f"machine: {machine()}; model {pipe.model_dir}; backend {pipe.backend}; "
          f"{10 * args.n_per_class} samples per row\n")
    print("| steps | CFG | CFG schedule | top-p | temperature | MoG noise | pi temperature | classifier accuracy "
          "| FD-clf (lower = closer to test set) | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    knobs = [list(map(float, s.split(",")))
             for s in (args.steps, args.cfg, args.top_p, args.temperature, args.mog_noise, args.pi_temperature)]
    defaults = pipe.defaults
    for sched, (steps, cfg, top_p, temp, noise, pi_t) in itertools.product(args.cfg_schedule.split(","),
                                                                            itertools.product(*knobs)):
        pipe.defaults = dataclasses.replace(defaults, mog_noise=noise, cfg_schedule=sched, pi_temperature=pi_t)
        imgs, labels, secs = generate_all(pipe, args.n_per_class, args.batch, 0, steps=int(steps), cfg=cfg,
                                          top_p=top_p, temperature=temp)
        x = imgs.to(args.device)
        acc = (clf(x).argmax(-1).cpu() == labels).float().mean().item()
        fd = frechet_distance(*ref_stats, *feature_stats(penultimate(clf, x).cpu().numpy()))
        print(f"| {int(steps)} | {cfg:g} | {sched} | {top_p:g} | {temp:g} | {noise:g} | {pi_t:g} | {acc:.3f} | {fd:.2f} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()

"""The architecture study of SteReFo (section 4.1, Fig. 5, Table 1) on the procedural data:
ways of joining the stereo network and the refocusing, compared on refocused images.

Settings (the paper's, scaled to the data): aperture a = 0.1, a fixed focus plane
df = FOCUS = 40 px, kmax = 11, the sweep [0, DMAX = 120] (the paper: df = 100 of [0, 300]
on SceneFlow); ground truth is the layered depth of field of
the scene's true disparity with hard masks (`layered_dof.py`, the renderer's conventions).

Variants so far:
  A1  the depth-supervised network (the campaign's best.pt, what `sterefo` ships), refocused;
  A2  the same network fine-tuned from the same start with aperture supervision only: the
      L1 loss of its refocused image (smooth masks, eq. 3, so the loss has gradients in the
      disparity) against the ground-truth refocus;
  B   the soft-argmin's softmax over the cost volume's bins (1/8 resolution) used directly
      as the plane masks (each plane's mask the probability of the bins it holds),
      bilinearly upsampled and refined by a small network with weights shared by the
      planes (`MaskRefiner`, starting as the identity), trained on refocused images with
      the network frozen;
  C   refocusing at half resolution from the network's 1/2-scale disparity, then the
      refocused image upsampled by a learned, image-guided upsampler (`BlurUpsampler`,
      starting as bilinear), trained on refocused images with the network frozen.
A1 is the shipped model's weights (variants/a1.pt, the campaign's iteration 22,149), fixed,
so the variants stay comparable while the campaign goes on.

    python models/train/variants.py train A2 --minutes 30   # continue variants/a2.pt
    python models/train/variants.py train B --minutes 30    # continue variants/b.pt
    python models/train/variants.py train C --minutes 30    # continue variants/c.pt
    python models/train/variants.py table                   # Table 1: every variant trained
    python models/train/variants.py speed                   # time per frame, ratios to A1
    python models/train/variants.py figure                  # docs/variants.jpg (Fig. 6, 7)

`table` scores each variant on a held-out procedural test set (TEST_SCENES scenes of
TEST_SIZE spanning at least MIN_SPAN px of disparity, its own seed, never drawn in training) and on the motorcycle pair (focus at its
90th disparity percentile, as evaluate.py's "near"): NIQE (scikit-video's, `niqe.py`; lower
is more natural), Rel. = |NIQE of the variant - NIQE of the ground-truth refocus| (the
paper's "absolute difference from the ground truth retrievals"), SSIM and
PSNR against the ground-truth refocus; mean and standard deviation over the scenes.
`speed` times each variant per frame (network and refocusing, PyTorch on this CPU) as a
ratio to A1's in the same run.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import cv2
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import fill_holes_lr, motorcycle, pad_to_stride  # noqa: E402
from dataset_v1 import StereoSceneGenerator, make_iterable_dataset  # noqa: E402
from export import load_net  # noqa: E402
from layered_dof import DofParams, composite, refocus  # noqa: E402

APERTURE = 0.1
FOCUS = 40.0  # the paper's df = 100 of [0, 300], scaled to this data's [0, 120]
DMAX = 120.0
KMAX = 11
TEST_SCENES = 12
TEST_SIZE = (256, 512)
MIN_SPAN = 40.0
TEST_SEED = 20261206  # the campaign and the variants train on seed 1
# Where each variant's training scenes (seed 1) start: far beyond what the campaign (2.1e5
# scenes so far) will reach, and apart from each other.
START_INDEX = {"A2": 50_000_000, "C": 60_000_000, "B": 70_000_000}
OUT = os.path.join(HERE, "variants")
A1_CKPT = os.path.join(OUT, "a1.pt")

# The paper's Table 1 (11 SceneFlow driving frames, a = 0.1, df = 100 of [0, 300], kmax 11).
PAPER = {
    "A1": "6.5 ± 1.4 / 0.1 ± 0.04 / 0.98 ± 0.01 / 39.16 ± 1.1",
    "A2": "7.3 ± 2.4 / 1.2 ± 0.8 / 0.95 ± 0.02 / 36.25 ± 1.2",
    "B": "8.2 ± 3.4 / 1.7 ± 1.1 / 0.95 ± 0.03 / 36.60 ± 1.8",
    "C": "8.1 ± 1.8 / 2.4 ± 1.8 / 0.96 ± 0.01 / 36.56 ± 1.5",
}


def hard(dmax=DMAX, focus=FOCUS):
    return DofParams(APERTURE, focus, 0.0, dmax, mask="hard", max_kernel=KMAX)


def smooth(dmax=DMAX, focus=FOCUS):
    return DofParams(APERTURE, focus, 0.0, dmax, mask="smooth", alpha=1.0, max_kernel=KMAX)


def nchw(a):
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


def test_set():
    """[(left, right, gt disparity)] of the held-out procedural scenes (HxWx3, HxW): the
    first TEST_SCENES of the test seed whose disparities span at least MIN_SPAN px (four
    planes at a = 0.1; many of the generator's scenes span less, and a scene within one
    plane refocuses identically whatever the disparity)."""
    gen = StereoSceneGenerator(*TEST_SIZE, max_disp=DMAX, seed=TEST_SEED)
    scenes, index = [], 0
    while len(scenes) < TEST_SCENES:
        left, right, gt = gen.sample(index)
        if gt.max() - gt.min() >= MIN_SPAN:
            scenes.append((left, right, gt))
        index += 1
    return scenes


@torch.no_grad()
def disparity(net, left, right):
    """The network's full-resolution disparity of one pair (HxWx3 float arrays)."""
    lp, (h, w) = pad_to_stride(left)
    rp, _ = pad_to_stride(right)
    d = net(nchw(lp), nchw(rp))
    return d[0, 0, :h, :w].numpy()


@torch.no_grad()
def refocused(left, disp, params):
    # float32, as variants B and C refocus (float64 agreed to 1e-6 and took twice as long)
    out = refocus(nchw(left).float(), torch.from_numpy(disp.astype(np.float32))[None, None], params)
    return out[0].numpy().transpose(1, 2, 0).clip(0, 1).astype(np.float32)


def train(a):
    """Trains variant `a.variant` on refocused images, resuming variants/<variant>.pt:
    A2 fine-tunes A1's network (aperture supervision: smooth masks, so the loss has
    gradients in the disparity); B trains the mask refiner, C the upsampler, A1's network
    frozen."""
    os.makedirs(OUT, exist_ok=True)
    name = a.variant.lower()
    path = os.path.join(OUT, f"{name}.pt")
    torch.set_num_threads(a.threads)
    torch.manual_seed(2)
    stereo = load_net(A1_CKPT)
    if a.variant == "A2":
        model = stereo.train()
        params = list(model.parameters())
    else:
        model = (MaskRefiner() if a.variant == "B" else BlurUpsampler()).train()
        params = list(model.parameters())
        for p in stereo.parameters():
            p.requires_grad_(False)
    opt = torch.optim.Adam(params, lr=a.lr)
    it, trained_s = 0, 0.0
    if os.path.exists(path):
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        it, trained_s = ck["iter"], ck["trained_s"]
    args = torch.load(A1_CKPT, map_location="cpu", weights_only=False).get("args", {})
    ch, cw = (int(v) for v in a.crop.split("x"))
    start = START_INDEX[a.variant] + it * a.batch
    ds = make_iterable_dataset(ch, cw, 1, start_index=start, max_disp=DMAX)
    dl = iter(torch.utils.data.DataLoader(ds, batch_size=a.batch, num_workers=1))
    log = open(os.path.join(OUT, f"{name}.log"), "a", buffering=1)

    def say(msg):
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    def save():
        torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "iter": it,
                    "trained_s": trained_s, "args": args, name: vars(a)}, path + ".tmp")
        os.replace(path + ".tmp", path)

    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    say(f"{a.variant} from {f'{name}.pt it {it}' if it else 'A1 (' + A1_CKPT + ')'}; {vars(a)}")
    t0, last_save, run = time.time(), time.time(), []
    while not stop["flag"] and time.time() - t0 < a.minutes * 60:
        try:
            left, right, gt, _ = next(dl)
        except Exception as e:  # the data worker got the signal too (pkill -f): save and stop
            say(f"data loader stopped: {type(e).__name__}: {e}")
            break
        with torch.no_grad():
            target = refocus(left, gt.clamp(0, DMAX), hard())
        if a.variant == "A2":
            pred = model(left, right)
            image = refocus(left, pred, smooth())
            epe = float((pred.detach() - gt).abs().mean())
        else:
            refocus_variant = refocus_b if a.variant == "B" else refocus_c
            image, epe = refocus_variant(stereo, model, left, right, hard()), float("nan")
        loss = (image - target).abs().mean()
        if not torch.isfinite(loss):
            say(f"it {it}: non-finite loss, batch skipped")
            continue
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        it += 1
        run.append((float(loss.detach()), epe))
        if it % 25 == 0:
            l, e = np.mean(run, axis=0)
            say(f"it {it} refocus L1 {l:.4f}" + (f" (disparity EPE {e:.2f} px, not trained on)" if a.variant == "A2" else ""))
            run = []
        if time.time() - last_save > 600:
            trained_s += time.time() - last_save
            last_save = time.time()
            save()
    trained_s += time.time() - last_save
    save()
    say(f"saved it {it}, {trained_s / 3600:.2f} h of {a.variant} training")


class BlurUpsampler(torch.nn.Module):
    """Variant C's learned, image-guided upsampler: the half-resolution refocus upsampled
    bilinearly, corrected by a residual a small network computes from it, the full-resolution
    left image (the guide) and the half-resolution disparity (over DMAX)."""

    def __init__(self, width=32):
        super().__init__()
        c = width
        self.inp = torch.nn.Conv2d(7, c, 3, padding=1)
        self.blocks = torch.nn.ModuleList(torch.nn.Conv2d(c, c, 3, padding=d, dilation=d) for d in (1, 2, 4, 8, 1))
        self.out = torch.nn.Conv2d(c, 3, 3, padding=1)
        torch.nn.init.zeros_(self.out.weight)  # starts as the bilinear upsampling
        torch.nn.init.zeros_(self.out.bias)

    def forward(self, half_refocus, left, half_disparity):
        size = left.shape[-2:]
        up = torch.nn.functional.interpolate(half_refocus, size=size, mode="bilinear", align_corners=False)
        d = torch.nn.functional.interpolate(half_disparity, size=size, mode="bilinear", align_corners=False) / DMAX
        h = torch.nn.functional.leaky_relu(self.inp(torch.cat([up, left, d], 1)), 0.2)
        for block in self.blocks:
            h = h + torch.nn.functional.leaky_relu(block(h), 0.2)
        return up + self.out(h)


def half_params(p: DofParams) -> DofParams:
    """The same refocusing on a grid half as fine: disparities, focus and radii halve."""
    return DofParams(p.aperture, p.focus / 2, p.dmin / 2, p.dmax / 2, mask=p.mask, alpha=p.alpha,
                     max_kernel=p.max_kernel)


def refocus_c(net, upsampler, left, right, params):
    """Variant C on [B, 3, H, W] tensors (H, W even): the network's 1/2-scale disparity, the
    refocus at half resolution (neither trained in C), the learned upsampling."""
    with torch.no_grad():
        d2 = net(left, right, all_scales=True)[2]  # 1/2 scale, in full-resolution pixels
        half = torch.nn.functional.avg_pool2d(left, 2)
        half_refocus = refocus(half, d2 / 2, half_params(params))
    return upsampler(half_refocus, left, d2)


class MaskRefiner(torch.nn.Module):
    """Variant B's refinement of the plane masks, one small network shared by all planes:
    for each plane its upsampled mask and the left image (the guide) in, a correction of
    the mask out (kept in [0, 1]). Starts as the identity (output convolution at zero)."""

    def __init__(self, width=8):
        super().__init__()
        c = width
        self.inp = torch.nn.Conv2d(4, c, 3, padding=1)
        self.mid = torch.nn.Conv2d(c, c, 3, padding=2, dilation=2)
        self.out = torch.nn.Conv2d(c, 1, 3, padding=1)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)

    def forward(self, masks, left):
        b, k, h, w = masks.shape
        m = masks.reshape(b * k, 1, h, w)
        x = torch.cat([m, left.repeat_interleave(k, dim=0)], 1)
        f = torch.nn.functional.leaky_relu(self.inp(x), 0.2)
        f = f + torch.nn.functional.leaky_relu(self.mid(f), 0.2)
        return (m + self.out(f)).clamp(0.0, 1.0).reshape(b, k, h, w)


def plane_masks(prob, params: DofParams):
    """Variant B's masks from the softmax over the bins [B, BINS, h, w] (bin b: disparity
    8 b px): plane k's mask is the probability of the bins whose disparity, clamped into
    the sweep, it holds (|8 b - d_k| < 1/a, the hard mask's rule), upsampled bilinearly x8:
    [B, K, 8h, 8w]."""
    bins = (torch.arange(prob.shape[1], dtype=prob.dtype) * 8.0).clamp(params.dmin, params.dmax)
    planes = torch.tensor(params.planes(), dtype=prob.dtype)
    holds = ((bins[None, :] - planes[:, None]).abs() < 1.0 / params.aperture).to(prob.dtype)
    masks = torch.einsum("kb,nbhw->nkhw", holds, prob)
    return torch.nn.functional.interpolate(masks, scale_factor=8.0, mode="bilinear", align_corners=False)


def refocus_b(net, refiner, left, right, params):
    """Variant B on [B, 3, H, W] tensors (H, W multiples of 32): the frozen network's bin
    probabilities as the plane masks, refined, composited by Algorithm 1."""
    with torch.no_grad():
        prob = net(left, right, probabilities=True)
    masks = refiner(plane_masks(prob, params).to(left.dtype), left)
    return composite(left, (masks[:, k:k + 1] for k in range(masks.shape[1])), params)


def on_arrays(refocus_variant, net, learned):
    """A variant that refocuses [B, 3, H, W] tensors (refocus_b, refocus_c) as
    refocus(left, right, params) on HxWx3 arrays, padded to the network's stride."""

    @torch.no_grad()
    def refocus_arrays(left, right, params):
        lp, (h, w) = pad_to_stride(left)
        rp, _ = pad_to_stride(right)
        image = refocus_variant(net, learned, nchw(lp), nchw(rp), params)
        return image[0, :, :h, :w].numpy().transpose(1, 2, 0).clip(0, 1).astype(np.float32)

    return refocus_arrays


def variants():
    """The trained variants: name -> refocus(left, right, params), HxWx3 arrays in and out."""
    a1 = load_net(A1_CKPT)

    def sequential(net):
        return lambda left, right, params: refocused(left, disparity(net, left, right), params)

    out = {"A1": sequential(a1)}
    a2 = os.path.join(OUT, "a2.pt")
    if os.path.exists(a2):
        net = load_net(A1_CKPT)
        net.load_state_dict(torch.load(a2, map_location="cpu", weights_only=False)["model"])
        out["A2"] = sequential(net.eval())
    for name, part, refocus_variant in (("B", MaskRefiner, refocus_b), ("C", BlurUpsampler, refocus_c)):
        path = os.path.join(OUT, f"{name.lower()}.pt")
        if os.path.exists(path):
            learned = part()
            learned.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
            out[name] = on_arrays(refocus_variant, a1, learned.eval())
    return out


def scores(image, ideal, ideal_niqe):
    from skimage.metrics import structural_similarity

    from niqe import niqe_rgb

    n = niqe_rgb(image)
    return {"niqe": n, "rel": abs(n - ideal_niqe),
            "ssim": structural_similarity(image, ideal, channel_axis=2, data_range=1.0),
            # (an identical image would be infinite: the error is floored at 1e-10, 100 dB)
            "psnr": 10 * math.log10(1.0 / max(float(((image - ideal) ** 2).mean()), 1e-10))}


def table(a):
    from niqe import niqe_rgb

    nets = variants()
    rows = {name: [] for name in nets}
    for left, right, gt in test_set():
        ideal = refocused(left, np.clip(gt, 0, DMAX), hard())
        ideal_niqe = niqe_rgb(ideal)
        for name, variant in nets.items():
            rows[name].append(scores(variant(left, right, hard()), ideal, ideal_niqe))
    l, r, gt = motorcycle()
    valid = np.isfinite(gt) & (gt > 0)
    filled = fill_holes_lr(np.where(valid, gt, 0), ~valid)
    dmax = float(math.ceil(gt[valid].max()) + 2)
    focus = float(np.percentile(gt[valid], 90))
    ideal = refocused(l, filled, hard(dmax, focus))
    ideal_niqe = niqe_rgb(ideal)
    moto = {name: scores(variant(l, r, hard(dmax, focus)), ideal, ideal_niqe)
            for name, variant in nets.items()}
    print(f"Procedural test set: {TEST_SCENES} scenes {TEST_SIZE[1]}x{TEST_SIZE[0]} spanning >= {MIN_SPAN} px, "
          f"seed {TEST_SEED}; "
          f"a = {APERTURE}, focus {FOCUS} px, kmax {KMAX}, sweep [0, {DMAX}]")
    print("| variant | NIQE | Rel. | SSIM | PSNR dB | motorcycle NIQE / Rel. / SSIM / PSNR | paper's Table 1, same order |")
    print("|---|---|---|---|---|---|---|")
    for name, rs in rows.items():
        cell = {k: (np.mean([x[k] for x in rs]), np.std([x[k] for x in rs])) for k in rs[0]}
        m = moto[name]
        print(f"| {name} | {cell['niqe'][0]:.2f} ± {cell['niqe'][1]:.2f} | {cell['rel'][0]:.2f} ± {cell['rel'][1]:.2f} | "
              f"{cell['ssim'][0]:.4f} ± {cell['ssim'][1]:.4f} | {cell['psnr'][0]:.2f} ± {cell['psnr'][1]:.2f} | "
              f"{m['niqe']:.2f} / {m['rel']:.2f} / {m['ssim']:.4f} / {m['psnr']:.2f} | {PAPER.get(name, '')} |")


def speed(a):
    """Each variant's time for one frame (network and refocusing, PyTorch on this CPU with
    --threads threads), rounds interleaved so that a shared machine slows all alike:
    median ms and the ratio to A1, on a test scene and on the motorcycle pair."""
    torch.set_num_threads(a.threads)
    nets = variants()
    left, right, _ = test_set()[0]
    l, r, gt = motorcycle()
    valid = np.isfinite(gt) & (gt > 0)
    moto_params = hard(float(math.ceil(gt[valid].max()) + 2), float(np.percentile(gt[valid], 90)))
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; median of {a.rounds} rounds (after one warm-up)")
    print("| variant | test scene 512x256 ms | ratio to A1 | motorcycle 741x497 ms | ratio to A1 |")
    print("|---|---|---|---|---|")
    a1 = load_net(A1_CKPT)
    nets = {"network alone": lambda x, y, params: disparity(a1, x, y), **nets}
    times = {name: ([], []) for name in nets}
    for round_ in range(a.rounds + 1):
        for name, variant in nets.items():
            for j, (x, y, params) in enumerate(((left, right, hard()), (l, r, moto_params))):
                t = time.perf_counter()
                variant(x, y, params)
                if round_:
                    times[name][j].append((time.perf_counter() - t) * 1000)
    base = [np.median(t) for t in times["A1"]]
    for name, (scene, moto) in times.items():
        ms = np.median(scene), np.median(moto)
        print(f"| {name} | {ms[0]:.0f} | {ms[0] / base[0]:.2f} | {ms[1]:.0f} | {ms[1] / base[1]:.2f} |")


def edge_crop(gt, size=96):
    """The (y, x) corner of the size x size window with the most depth-edge pixels."""
    jump = np.zeros(gt.shape, np.float32)
    jump[:, 1:] += np.abs(np.diff(gt, axis=1)) > 2
    jump[1:, :] += np.abs(np.diff(gt, axis=0)) > 2
    box = cv2.boxFilter(jump, -1, (size, size), normalize=False, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    h, w = gt.shape
    box = box[: h - size + 1, : w - size + 1]
    return np.unravel_index(int(np.argmax(box)), box.shape)


def figure(a):
    """Figures like the paper's 6 and 7: one row per scene (the first test scenes and the
    motorcycle pair), the ground-truth refocus and each variant, then per scene a crop at its
    densest depth edges, enlarged 2x."""
    nets = variants()
    l, r, gt = motorcycle()
    valid = np.isfinite(gt) & (gt > 0)
    filled = fill_holes_lr(np.where(valid, gt, 0), ~valid)
    moto_params = hard(float(math.ceil(gt[valid].max()) + 2), float(np.percentile(gt[valid], 90)))
    scenes = [(*s, hard()) for s in test_set()[: a.scenes]]
    scenes.append((cv2.resize(l, (512, 346)), cv2.resize(r, (512, 346)), None, None))
    rows = []
    for left, right, truth, params in scenes:
        if truth is None:  # the motorcycle, refocused at full size then shown at 512 wide
            outs = [refocused(l, filled, moto_params)]
            outs += [variant(l, r, moto_params) for variant in nets.values()]
            outs = [cv2.resize(o, (512, 346), interpolation=cv2.INTER_AREA) for o in outs]
            truth = cv2.resize(filled, (512, 346), interpolation=cv2.INTER_NEAREST) * 512 / 741
        else:
            outs = [refocused(left, np.clip(truth, 0, DMAX), params)]
            outs += [variant(left, right, params) for variant in nets.values()]
        y, x = edge_crop(truth)
        crops = [cv2.resize(o[y:y + 96, x:x + 96], (192, 192), interpolation=cv2.INTER_NEAREST) for o in outs]
        h = outs[0].shape[0]
        row = np.concatenate(outs + [np.ones((h, 8, 3), np.float32)] + [np.pad(c, ((0, h - 192), (0, 0), (0, 0)), constant_values=1) for c in crops], axis=1)
        rows.append(row)
        rows.append(np.ones((8, row.shape[1], 3), np.float32))
    width = max(r.shape[1] for r in rows)
    image = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=1) for r in rows])
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    cv2.imwrite(a.out, cv2.cvtColor((image * 255).round().astype(np.uint8), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {a.out}: columns ground truth, {', '.join(nets)}, then their crops at a depth edge (2x)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train variant A2, B or C on refocused images")
    t.add_argument("variant", choices=["A2", "B", "C"])
    t.add_argument("--minutes", type=float, default=30)
    t.add_argument("--batch", type=int, default=4)
    t.add_argument("--crop", default="192x384")
    t.add_argument("--lr", type=float, default=None, help="default: 5e-5 for A2 (fine-tuning), 5e-4 for B and C (new)")
    t.add_argument("--threads", type=int, default=2)
    sub.add_parser("table", help="Table 1 of every trained variant")
    sp = sub.add_parser("speed", help="each variant's time per frame, as a ratio to A1's")
    sp.add_argument("--rounds", type=int, default=5)
    sp.add_argument("--threads", type=int, default=2)
    f = sub.add_parser("figure", help="Fig. 6 and 7: the variants side by side, and crops")
    f.add_argument("--scenes", type=int, default=4)
    f.add_argument("--out", default=os.path.join(HERE, "..", "..", "docs", "variants.jpg"))
    a = ap.parse_args()
    if a.command == "train" and a.lr is None:
        a.lr = 5e-5 if a.variant == "A2" else 5e-4
    {"train": train, "table": table, "speed": speed, "figure": figure}[a.command](a)


if __name__ == "__main__":
    main()

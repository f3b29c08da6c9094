"""Shared defaults for every experiment config.

Each `configs/NAME.py` calls `get_base_config()` and overrides what its algorithm needs. Every
field the code reads is defined here or in the experiment file; the config is locked so that a
mistyped override (`--config.train.num_step=10`) fails with the field's name.
"""

import ml_collections


def get_base_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.algorithm = ""  # key of v101jax.algorithms.REGISTRY, e.g. "diffusion"
    config.seed = 0
    # Checkpoint directory (or a workdir) to start from when the workdir has none yet.
    config.init_from = ""

    config.data = data = ml_collections.ConfigDict()
    # fashion_mnist (Debian package files) | fashion_edges (edge → garment pairs) |
    # fashion_domains (two unpaired classes) | tfds | digits | ring | grid | moons |
    # image_folder (FOLDER/{split}/*.png|jpg|…, unlabelled) |
    # paired_folder (pix2pix's A | B files) | unpaired_folder (trainA/, trainB/) |
    # tfds_domains (a TFDS set with splits trainA, trainB, …: cycle_gan/horse2zebra) |
    # photos | photo_pairs (crops of photos; super-resolution pairs; see data.photo_set)
    data.source = "fashion_mnist"
    data.fashion_mnist_dir = "/usr/share/datasets/fashion-mnist"
    data.tfds_name = "fashion_mnist"  # used when source is tfds or tfds_domains
    data.tfds_data_dir = ""  # "" = TFDS default
    data.tfds_download = True
    # TFDS and folder sources: images are resized to this and converted to these channels.
    data.image_size = 28
    data.channels = 1
    # Image sources: background pixels (value −1) added on every side, e.g. 2 pads
    # Fashion-MNIST to 32×32 for networks that double from 4×4 (ProGAN, StyleGAN). Feature
    # extractors score the central, unpadded region.
    data.pad = 0
    data.folder = ""  # image_folder, paired_folder, unpaired_folder: the dataset's root
    # image_folder: read each batch's images when it is drawn instead of the whole set at
    # start, for sets larger than memory; decoded by stream_workers processes (0: in the
    # batch-preparing thread)
    data.streaming = False
    data.stream_workers = 2
    data.direction = "AtoB"  # paired_folder: AtoB (source = left half) or BtoA
    # photos (crops) and photo_pairs (low-resolution crop → crop, for super-resolution):
    # bundled (scikit-image's photos: a fixed train split and five held out as "test") |
    # folder (data.folder/{split}/, images of any size) | tfds (data.tfds_name, e.g.
    # div2k/bicubic_x4: its "hr" images). Crops of data.image_size every crop_stride
    # pixels; data.channels 1 = luminance Y (BT.601), 3 = RGB.
    data.photo_set = "bundled"
    data.crop_stride = 14
    data.min_crop_std = (
        0.0  # photos: crops with a smaller pixel std (0–255) are dropped
    )
    data.downscale = 3  # photo_pairs: the scale factor (bicubic, v101jax.data.photos)
    data.num_classes = 0  # tfds only: label classes (class-conditional models need it)
    # fashion_domains only: the Fashion-MNIST classes of domains A and B (sneaker ↔ ankle boot)
    data.domain_classes = (7, 9)
    # templates: captions written from each example's class and measured attributes
    # (fashion_mnist: "a small dark ankle boot"; ring: "the north east mode"), for
    # text-to-image models (v101jax.data.captions) | files: image_folder's caption files
    # (NAME.txt beside NAME.png, one caption per line) | tfds: a text feature of the TFDS
    # set (data.tfds_caption_key) | none
    data.captions = "none"
    data.caption_length = 12  # tokens per caption (padded with 0)
    # files, tfds: captions kept per image (fewer lines repeat in turn; more keep the first)
    data.captions_per_image = 4
    # tfds: the feature holding each image's captions, nested keys joined by "/" (a string or
    # a sequence of strings; coco_captions: "captions/text")
    data.tfds_caption_key = "captions/text"
    data.split = "train"
    data.batch_size = 64  # global batch, across all devices and processes
    data.random_flip = False  # horizontal flips (images only)
    data.num_points = 20000  # toy 2-D sets: size of the finite training set
    data.toy_std = 0.05  # toy 2-D sets: standard deviation of each mode
    data.prefetch = 2  # batches prepared ahead of the step

    config.model = model = ml_collections.ConfigDict()
    model.name = "unet"  # unet | mlp
    model.channels = 32
    model.channel_mult = (1, 2, 2)
    model.num_res_blocks = 1
    model.attention_resolutions = (7,)  # spatial sizes at which self-attention runs
    model.num_heads = 1
    model.num_groups = 8  # GroupNorm groups
    model.dropout = 0.0
    model.hidden = 256  # mlp only
    model.num_layers = 3  # mlp only
    model.dtype = "float32"  # compute dtype: float32 | bfloat16 (params stay float32)
    model.remat = False  # rematerialise residual blocks (less memory, more compute)

    config.optim = optim = ml_collections.ConfigDict()
    optim.name = "adam"  # adam | adamw
    optim.learning_rate = 2e-4
    optim.b1 = 0.9
    optim.b2 = 0.999
    optim.eps = 1e-8
    optim.weight_decay = 0.0  # adamw only
    optim.schedule = (
        "constant"  # constant | warmup_cosine | cosine_restarts | linear_decay
    )
    optim.warmup_steps = 0
    # warmup_cosine: steps to reach the end (0 = train.num_steps); linear_decay: the last
    # steps, decaying linearly (0 = half of train.num_steps)
    optim.decay_steps = 0
    optim.end_lr_fraction = 0.0  # cosine schedules decay to learning_rate * this
    optim.restart_period = 1000  # cosine_restarts: steps per cycle
    optim.grad_clip_norm = 1.0  # global-norm clipping; 0 disables
    optim.ema_decay = 0.9999  # 0 disables EMA (EMA params then equal params)
    optim.ema_warmup = True  # decay_t = min(decay, (1 + t) / (10 + t))

    config.train = train = ml_collections.ConfigDict()
    train.num_steps = 1000
    train.steps_per_call = 1  # train steps fused into one compiled call (lax.scan)
    train.log_every = 50
    train.checkpoint_every = 500  # 0 = only at the end (the last step always saves)
    train.keep_checkpoints = 3
    # Several processes: every this many iterations they agree whether a SIGTERM/SIGINT
    # reached any of them, and then all checkpoint that step (one small all-gather each).
    train.stop_check_every = 10
    train.sample_every = 500  # 0 disables periodic sample grids
    train.num_sample_images = 64

    config.eval = ev = ml_collections.ConfigDict()
    ev.every_steps = 0  # evaluate in the loop every K steps (and at the end); 0 = never
    ev.num_samples = 1000  # generated samples per evaluation (published FIDs use 50000)
    ev.batch_size = 250  # samples drawn and scored per compiled call
    # auto | fashion_mnist_classifier | inception | none (auto: inception when its weights
    # are set, else the shipped Fashion-MNIST classifier on Fashion-MNIST data, else none:
    # only an algorithm's own held-out metrics, e.g. Pix2Pix's PSNR on a folder of photos)
    ev.extractor = "auto"
    ev.inception_weights = ""  # converted FID InceptionV3 .npz (README, Evaluation)
    ev.metrics = (
        "fd",
        "kid",
        "is",
        "pr",
    )  # Fréchet distance, KID, Inception Score, P/R
    ev.reference_split = "test"  # real images the samples are compared with
    ev.stats_dir = ""  # cache of reference statistics; "" = WORKDIR/eval_stats
    ev.max_features = 5000  # feature vectors kept per set for KID and precision/recall
    ev.kid_subsets = 100
    ev.kid_subset_size = 1000
    ev.is_splits = 10
    ev.pr_k = 3  # k of the k-NN manifolds of precision/recall

    config.sample = sample = ml_collections.ConfigDict()
    sample.use_ema = True
    sample.num_samples = 64  # the sample command's default

    config.distributed = dist = ml_collections.ConfigDict()
    # 0: jax.distributed from the environment (SLURM, Open MPI, Cloud TPU) when there is
    # one, else a single process; 1: a single process; > 1: the two fields below.
    dist.num_processes = 0
    dist.process_id = 0
    dist.coordinator_address = ""  # host:port of process 0
    # Devices along the sharded-parameter axis (1 = data parallelism only): state arrays of
    # at least fsdp_min_size elements are split over them (v101jax/core/parallel.py).
    dist.fsdp = 1
    dist.fsdp_min_size = 2**16
    return config


def use_cifar10(data) -> None:
    """`data` (a config's data section) reads CIFAR-10 through TFDS: 32×32×3, ten classes,
    horizontal flips (the published-size presets')."""
    data.source = "tfds"
    data.tfds_name = "cifar10"
    data.num_classes = 10
    data.image_size = 32
    data.channels = 3
    data.random_flip = True


def use_celeba(data, image_size: int, random_flip: bool = True) -> None:
    """`data` reads CelebA through TFDS, resized to image_size², RGB, with horizontal flips
    unless `random_flip` is off (the face presets')."""
    data.source = "tfds"
    data.tfds_name = "celeb_a"
    data.image_size = image_size
    data.channels = 3
    data.random_flip = random_flip


def use_progressive_gan_training(config) -> None:
    """What ProGAN's and StyleGAN's configs share: Fashion-MNIST padded to 32×32 (so the
    networks double from 4×4) at batch 32, and the references' optimisers: Adam 1e-3 with β
    (0, 0.99) and ε 1e-8 for G and D alike (config.d_optim a copy), G's weights averaged
    with decay 0.999, D's never. The references average from the first step; the
    (1 + t) / (10 + t) warm-up changes nothing after a few thousand steps and keeps short
    runs' EMA off the random initial weights."""
    config.data.pad = 2  # Fashion-MNIST 28 → 32
    config.data.batch_size = 32
    o = config.optim
    o.learning_rate = 1e-3
    o.b1 = 0.0
    o.b2 = 0.99
    o.eps = 1e-8
    o.ema_decay = 0.999
    o.ema_warmup = True
    config.d_optim = o.copy_and_resolve_references()
    config.d_optim.ema_decay = 0.0  # not read: D is never averaged


def apply_smoke_training(config) -> None:
    """The smoke presets' shared part: two steps at batch 8 that pass through every phase of
    the loop (logging, checkpoint, 4-image sample grid). Used by the tests."""
    config.data.batch_size = 8
    config.train.num_steps = 2
    config.train.log_every = 1
    config.train.checkpoint_every = 2
    config.train.sample_every = 2
    config.train.num_sample_images = 4
    config.sample.num_samples = 4

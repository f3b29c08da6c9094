"""Sample-quality metrics: feature distances (FD/FID, KID, precision/recall), Inception
Score, PSNR/SSIM, and the feature extractors they run on (InceptionV3, a Fashion-MNIST CNN)."""

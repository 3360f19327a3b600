"""Networks: conditional reconstructors, discriminators (raw logits), generators and image priors."""

from .discriminators import ConditionalDiscriminator, DCGANDiscriminator, ESRGANDiscriminator, MLPDiscriminator, PatchGANDiscriminator, make_discriminator, padded_dcgan_discriminator
from .cycle import CycleGenerators, PairedCritics, ResidualUNet
from .posterior import PosteriorSamples
from .reconstructor import ConditionalReconstructor, UNet

#: ``model.generator`` of a conditional run: a U-Net on the lifted measurement (any operator),
#: SRGAN's SRResNet or ESRGAN's RRDB network (downsampling only, :mod:`invgan.nets.sr`)
RECONSTRUCTORS = ("unet", "srresnet", "rrdb")

__all__ = [
    "RECONSTRUCTORS",
    "ConditionalDiscriminator", "ConditionalReconstructor", "DCGANDiscriminator", "ESRGANDiscriminator", "MLPDiscriminator", "PatchGANDiscriminator",
    "PosteriorSamples", "UNet", "make_discriminator", "padded_dcgan_discriminator",
    "CycleGenerators", "PairedCritics", "ResidualUNet",
]

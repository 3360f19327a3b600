"""Networks: conditional reconstructors, discriminators (raw logits), generators and image priors."""

from .discriminators import ConditionalDiscriminator, DCGANDiscriminator, ESRGANDiscriminator, MLPDiscriminator, PatchGANDiscriminator, make_discriminator, padded_dcgan_discriminator
from .cycle import CycleGenerators, PairedCritics, ResidualUNet
from .reconstructor import ConditionalReconstructor, UNet

__all__ = [
    "ConditionalDiscriminator", "ConditionalReconstructor", "DCGANDiscriminator", "ESRGANDiscriminator", "MLPDiscriminator", "PatchGANDiscriminator",
    "UNet", "make_discriminator", "padded_dcgan_discriminator",
    "CycleGenerators", "PairedCritics", "ResidualUNet",
]

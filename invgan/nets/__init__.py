"""Networks: conditional reconstructors, discriminators (raw logits), generators and image priors."""

from .discriminators import DCGANDiscriminator, ESRGANDiscriminator, PatchGANDiscriminator, make_discriminator
from .reconstructor import ConditionalReconstructor, UNet

__all__ = [
    "ConditionalReconstructor", "DCGANDiscriminator", "ESRGANDiscriminator", "PatchGANDiscriminator",
    "UNet", "make_discriminator",
]

"""
Colour quantization of a photograph
===================================

scikit-learn ships a photograph of a Chinese temple (``china.jpg``, 427 x
640 pixels). A mixture of 16 Gaussians fitted to the pixels' colours
(red, green, blue) gives a palette of 16 colours: each pixel is then drawn
in the mean colour of its most probable component.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

import fastgmm

image = load_sample_image("china.jpg")
pixels = image.reshape(-1, 3).astype(np.float32) / 255
print(f"{pixels.shape[0]:,} pixels")

# %%
# Fit on a random sample of the pixels (the whole image fits too, in well
# under a second on a fast machine; the sample keeps the site's build
# short), then label every pixel.

sample = np.random.RandomState(0).choice(len(pixels), 40_000, replace=False)
gm = fastgmm.GaussianMixture(16, random_state=0).fit(pixels[sample])
labels = gm.predict(pixels)
quantized = gm.means_[labels].reshape(image.shape).clip(0, 1)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6),
                         gridspec_kw={"width_ratios": [3, 3, 1.2]})
axes[0].imshow(image)
axes[0].set_title("original")
axes[1].imshow(quantized)
axes[1].set_title("16 colours from a Gaussian mixture")
for ax in axes[:2]:
    ax.axis("off")
order = np.argsort(gm.weights_)[::-1]
axes[2].barh(np.arange(16), gm.weights_[order], color=gm.means_[order].clip(0, 1))
axes[2].invert_yaxis()
axes[2].set_title("the palette's weights")
axes[2].set_yticks([])
fig.tight_layout()
plt.show()

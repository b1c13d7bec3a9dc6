"""The EM algorithm on small arrays, above the kernels (internal).

``driver`` (the EM loop, restarts, stepwise EM), ``structure`` (the
covariance structures: scikit-learn's four and mclust's 14), ``family``
(the families the driver runs, and `MixtureSpec`, what a mixture is),
``init`` (the initial parameters), ``kmeans`` (k-means on compiled passes),
``covariance`` and ``parsimonious`` (the math per storage type and per
mclust model), ``noise`` (the uniform noise component), ``variational``
(the variational Bayesian family), ``criteria`` (BIC, AIC, ICL and their
sums). None of them reads X but through the kernels; none imports an
estimator.
"""

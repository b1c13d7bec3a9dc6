"""The EM algorithm on small arrays, above the kernels (internal).

``driver`` (the EM loop, restarts, stepwise EM), ``init`` (the initial
parameters), ``kmeans`` (k-means on compiled passes), ``covariance`` (the
M-step and everything per covariance type), ``variational`` (the
variational Bayesian model), ``criteria`` (BIC, AIC, ICL sums). None of them
reads X but through the kernels; none imports an estimator.
"""

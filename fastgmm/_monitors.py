"""The progress of a fit: scikit-learn's verbose messages and the events of
``fit(callback=...)``, as `em.driver.Monitor` hooks."""

from time import time

from .em import driver as _em


def fit_monitor(estimator, callback=None):
    """The monitor of a fit of ``estimator``: its verbose messages, and the
    ``callback``'s events when given."""
    verbose = _VerboseMonitor(estimator)
    return verbose if callback is None else _Monitors(verbose, _CallbackMonitor(callback))


class _VerboseMonitor(_em.Monitor):
    """scikit-learn's verbose messages, word for word."""

    def __init__(self, estimator):
        self.verbose = estimator.verbose
        self.interval = estimator.verbose_interval
        self.quiet = self.verbose < 1

    def init_begin(self, init):
        if self.verbose >= 1:
            print("Initialization %d" % init)
            self.init_time = self.iter_time = time()

    def iter_end(self, n_iter, change, lower_bound=None):
        if self.verbose >= 1 and n_iter % self.interval == 0:
            if self.verbose == 1:
                print("  Iteration %d" % n_iter)
            else:
                now = time()
                print(
                    "  Iteration %d\t time lapse %.5fs\t ll change %.5f"
                    % (n_iter, now - self.iter_time, change)
                )
                self.iter_time = now

    def init_end(self, lower_bound, converged):
        status = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            lapse = time() - self.init_time
            print(
                f"Initialization {status}. time lapse {lapse:.5f}s\t lower bound"
                f" {lower_bound:.5f}."
            )


class _CallbackMonitor(_em.Monitor):
    """Turns the EM hooks into the events of ``fit(callback=...)``."""

    quiet = False

    def __init__(self, callback):
        self.callback = callback
        self.init = 0
        self.n_iter = 0

    def init_begin(self, init):
        self.init, self.n_iter = init, 0
        self.callback({"event": "init_begin", "init": init})

    def iter_end(self, n_iter, change, lower_bound=None):
        self.n_iter = n_iter
        self.callback({"event": "iteration", "init": self.init, "n_iter": n_iter,
                       "lower_bound": lower_bound, "change": change})

    def init_end(self, lower_bound, converged):
        self.callback({"event": "init_end", "init": self.init, "n_iter": self.n_iter,
                       "lower_bound": lower_bound, "converged": converged})


class _Monitors(_em.Monitor):
    """Forwards every hook to each of several monitors."""

    def __init__(self, *monitors):
        self.monitors = monitors
        self.quiet = all(m.quiet for m in monitors)

    def init_begin(self, init):
        for m in self.monitors:
            m.init_begin(init)

    def iter_end(self, n_iter, change, lower_bound=None):
        for m in self.monitors:
            m.iter_end(n_iter, change, lower_bound)

    def init_end(self, lower_bound, converged):
        for m in self.monitors:
            m.init_end(lower_bound, converged)

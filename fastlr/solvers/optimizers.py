"""Update rules for gradient descent, by name.

Each optimizer keeps its state (velocities, squared-gradient averages) in
arrays of θ's library, so it runs where the data lives. ``step`` returns the
new θ and the step size it used per coordinate (a scalar, or a vector for the
adaptive rules), which the proximal L1 step needs.
"""

EPSILON = 1e-8


class Plain:
    """θ ← θ − α g."""

    default_learning_rate = None  # "auto": 1/L from the problem's smoothness

    def __init__(self, xp, theta):
        self.xp = xp

    def step(self, theta, gradient, alpha):
        return theta - alpha * gradient, alpha


class Momentum:
    """Heavy ball: v ← β v − α g; θ ← θ + v (β = 0.9)."""

    default_learning_rate = None

    def __init__(self, xp, theta, beta=0.9):
        self.xp, self.beta = xp, beta
        self.velocity = xp.zeros_like(theta)

    def step(self, theta, gradient, alpha):
        self.velocity = self.beta * self.velocity - alpha * gradient
        return theta + self.velocity, alpha


class Nesterov(Momentum):
    """Nesterov momentum with the gradient taken at θ itself (Sutskever's form):
    v' ← β v − α g; θ ← θ − β v + (1 + β) v'."""

    def step(self, theta, gradient, alpha):
        previous = self.velocity
        self.velocity = self.beta * previous - alpha * gradient
        return theta - self.beta * previous + (1.0 + self.beta) * self.velocity, alpha


class AdaGrad:
    """G ← G + g²; θ ← θ − α g / (√G + ε)."""

    default_learning_rate = 0.01

    def __init__(self, xp, theta):
        self.xp = xp
        self.squares = xp.zeros_like(theta)

    def step(self, theta, gradient, alpha):
        self.squares += gradient * gradient
        scale = alpha / (self.xp.sqrt(self.squares) + EPSILON)
        return theta - scale * gradient, scale


class RMSProp:
    """E ← β E + (1 − β) g²; θ ← θ − α g / (√E + ε) (β = 0.9)."""

    default_learning_rate = 0.01

    def __init__(self, xp, theta, beta=0.9):
        self.xp, self.beta = xp, beta
        self.average = xp.zeros_like(theta)

    def step(self, theta, gradient, alpha):
        self.average = self.beta * self.average + (1.0 - self.beta) * gradient * gradient
        scale = alpha / (self.xp.sqrt(self.average) + EPSILON)
        return theta - scale * gradient, scale


class Adam:
    """m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − α m̂/(√v̂ + ε),
    with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)."""

    default_learning_rate = 0.001

    def __init__(self, xp, theta, beta1=0.9, beta2=0.999):
        self.xp, self.beta1, self.beta2 = xp, beta1, beta2
        self.first = xp.zeros_like(theta)
        self.second = xp.zeros_like(theta)
        self.t = 0

    def step(self, theta, gradient, alpha):
        self.t += 1
        self.first = self.beta1 * self.first + (1.0 - self.beta1) * gradient
        self.second = self.beta2 * self.second + (1.0 - self.beta2) * gradient * gradient
        first_hat = self.first / (1.0 - self.beta1**self.t)
        second_hat = self.second / (1.0 - self.beta2**self.t)
        scale = alpha / (self.xp.sqrt(second_hat) + EPSILON)
        return theta - scale * first_hat, scale


OPTIMIZERS = {
    "sgd": Plain,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
}

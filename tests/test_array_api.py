"""Arrays of other libraries in, and answers in kind: PyTorch tensors, array-api-strict, array_api_dispatch.

The reference is the same fit on the NumPy copy of the data: a foreign array
is only viewed, so the coefficients must be identical, not merely close.
scikit-learn's own array-API test for LogisticRegression runs in
tests/sklearn_suite. Optional libraries skip with the reason where absent.
"""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import load_iris

import fastlr
from fastlr import array_api
from fastlr.dispatch import BACKENDS

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'fastlr[array-api]')")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cpu_tensors_are_viewed_not_copied(dtype):
    tensor = torch.arange(12, dtype=dtype).reshape(4, 3)
    view = array_api.computable(tensor)
    assert isinstance(view, np.ndarray) and view.dtype == np.dtype(str(dtype).split(".")[1])
    assert np.shares_memory(view, tensor.numpy())


def test_a_tensor_that_requires_grad_is_detached_not_copied():
    tensor = torch.ones((3, 2), dtype=torch.float64, requires_grad=True)
    view = array_api.computable(tensor)
    assert np.shares_memory(view, tensor.detach().numpy())


@pytest.mark.parametrize("n_classes", [2, 3])
def test_torch_cpu_fit_is_the_numpy_fit(n_classes, iris):
    X, y = iris
    keep = y < n_classes
    X, y = X[keep], y[keep]
    reference = fastlr.fit(X, y, backend="numpy", tol=1e-8)
    model = fastlr.fit(torch.from_numpy(X), torch.from_numpy(y), backend="numpy", tol=1e-8)
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    assert isinstance(model.coef_, np.ndarray)  # without array_api_dispatch, NumPy attributes stay
    assert fastlr.fit(torch.from_numpy(X), torch.from_numpy(y)).backend_ == fastlr.resolve_backend_name("auto")


def test_predictions_answer_in_the_inputs_kind(iris):
    X, y = iris
    model = fastlr.fit(X, y, backend="numpy", tol=1e-8)
    X_torch = torch.from_numpy(X.astype(np.float32))
    for method in ("decision_function", "predict_proba", "predict_log_proba"):
        answer = getattr(model, method)(X_torch)
        assert isinstance(answer, torch.Tensor) and answer.dtype == torch.float32, method
        np.testing.assert_allclose(answer.numpy(), getattr(model, method)(X.astype(np.float32)), rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X_torch), model.predict(X))  # labels are classes_'s kind


@pytest.mark.parametrize("string_labels", [False, True])
def test_under_dispatch_fitted_attributes_live_with_the_input(string_labels, iris):
    X, y = iris
    y_given = np.array(["a", "b", "c"])[y] if string_labels else torch.from_numpy(y.astype(np.float64))
    with config_context(array_api_dispatch=True):
        model = fastlr.LogisticRegression(backend="numpy", tol=1e-8).fit(torch.from_numpy(X), y_given)
        for name in ("coef_", "intercept_", "n_iter_"):
            assert isinstance(getattr(model, name), torch.Tensor), name
        assert model.coef_.dtype == torch.float64
        assert isinstance(model.classes_, np.ndarray if string_labels else torch.Tensor)
        proba = model.predict_proba(torch.from_numpy(X))
        assert isinstance(proba, torch.Tensor)
        labels = model.predict(torch.from_numpy(X))
        assert isinstance(labels, np.ndarray if string_labels else torch.Tensor)
        model.set_params(warm_start=True, max_iter=2).fit(torch.from_numpy(X), y_given)  # warm start from tensors
    reference = fastlr.LogisticRegression(backend="numpy", tol=1e-8).fit(X, y)
    np.testing.assert_allclose(np.asarray(proba), reference.predict_proba(X), rtol=1e-10)


def test_array_api_strict_on_another_device(iris):
    strict = pytest.importorskip("array_api_strict")
    X, y = iris
    device = strict.Device("device1")
    X_strict = strict.asarray(X, device=device)
    with config_context(array_api_dispatch=True):
        model = fastlr.LogisticRegression(backend="numpy", tol=1e-8).fit(X_strict, strict.asarray(y, device=device))
        assert model.coef_.device == device and model.classes_.device == device
        proba = model.predict_proba(X_strict)
        assert proba.device == device
    reference = fastlr.LogisticRegression(backend="numpy", tol=1e-8).fit(X, y)
    np.testing.assert_allclose(np.asarray(proba.to_device(strict.Device("CPU_DEVICE"))), reference.predict_proba(X),
                               rtol=1e-10)


def _cuda_reason():
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device"
    return BACKENDS["cupy"].unavailable_reason()


@pytest.mark.gpu
@pytest.mark.skipif(_cuda_reason() is not None, reason=f"torch CUDA to cupy: {_cuda_reason()}")
def test_cuda_tensors_go_to_the_cupy_backend_without_a_copy(iris):
    import cupy

    X, y = iris
    X_cuda = torch.from_numpy(X).cuda()
    assert cupy.asarray(X_cuda).data.ptr == X_cuda.data_ptr()  # the backend's view of the tensor
    model = fastlr.fit(X_cuda, torch.from_numpy(y).cuda(), tol=1e-8)
    assert model.backend_ == "cupy"
    reference = fastlr.fit(X, y, backend="numpy", tol=1e-8)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-8)
    proba = model.predict_proba(X_cuda)
    assert isinstance(proba, torch.Tensor) and proba.device == X_cuda.device
    with config_context(array_api_dispatch=True):
        model = fastlr.LogisticRegression(tol=1e-8).fit(X_cuda, torch.from_numpy(y).cuda())
        assert model.coef_.device == X_cuda.device

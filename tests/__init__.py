import os

# SciPy reads SCIPY_ARRAY_API once, when it is first imported; without it scikit-learn refuses
# array_api_dispatch=True and its array-API tests skip. NumPy input behaves the same either way.
# pytest imports this package before any conftest (which imports scikit-learn, hence SciPy).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

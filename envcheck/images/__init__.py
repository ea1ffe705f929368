"""Build and run gpu-envkit's images (``docker/``) through the Docker SDK.

Only ``pins`` and ``entrypoint`` avoid the SDK: ``entrypoint`` runs inside the images, which do
not carry it. The SDK is imported inside functions, so ``envcheck`` starts without it.
"""

"""Save and load ``TrainedModel`` artifacts: skops for estimators, JSON for metadata. No pickle.

An artifact is one zip archive (bytes, so it can go to object storage as one object):

- ``estimators.skops``: ``skops.io.dumps({"estimator": ..., "explainer": ...})``.
- ``metadata.json``: format, version, created_at, feature_names, sklearn_version, the SHA-256
  of ``estimators.skops`` and the model's metadata (metrics, training window).

Loading checks the format, the hash, the scikit-learn version (pickled-tree layouts change
between releases) and that every type skops reports as untrusted is on ``TRUSTED_TYPES``, a
list reviewed by hand; anything else is refused before a single object is built.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import sklearn
import skops.io as sio

from ml.jsonable import to_jsonable
from ml.model import TrainedModel

FORMAT = "wuye-credit-risk-model/1"
ESTIMATORS_NAME = "estimators.skops"
METADATA_NAME = "metadata.json"
# Reviewed: what skops.io.get_untrusted_types reports for a TrainedModel built by ml.model.
# Our own transform function, numpy dtypes and scikit-learn internals, nothing that runs code
# on load beyond constructing these objects.
TRUSTED_TYPES = (
    "ml.candidates.signed_log1p",
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.frozen._frozen.FrozenEstimator",
)

ERR_FORMAT = "not a risk model artifact (format {found!r}, expected {expected!r})"
ERR_HASH = "model artifact is corrupt: estimator hash does not match its metadata"
ERR_SKLEARN = "model was saved with scikit-learn {saved}, this is {running}: retrain it"
ERR_UNTRUSTED = "model artifact contains types that were not reviewed: {types}"
ERR_FEATURES = "model metadata lists {listed} features but the estimator expects {expected}"
ERR_NOT_ARCHIVE = "model artifact is not a zip archive"


class ModelArtifactError(ValueError):
    """The bytes are not a loadable, trusted, matching risk model."""


def dumps(model: TrainedModel, *, created_at: datetime | None = None) -> bytes:
    estimators = sio.dumps({"estimator": model.estimator, "explainer": model.explainer})
    metadata = {
        "format": FORMAT,
        "version": model.version,
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
        "feature_names": list(model.feature_names),
        "sklearn_version": sklearn.__version__,
        "estimators_sha256": hashlib.sha256(estimators).hexdigest(),
        "metadata": to_jsonable(model.metadata),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(ESTIMATORS_NAME, estimators)
        archive.writestr(
            METADATA_NAME, json.dumps(metadata, ensure_ascii=False, indent=2, allow_nan=False)
        )
    return buffer.getvalue()


def loads(data: bytes) -> TrainedModel:
    estimators, metadata = _unpack(data)
    _verify(estimators, metadata)
    objects = sio.loads(estimators, trusted=list(TRUSTED_TYPES))
    names = tuple(metadata["feature_names"])
    expected = objects["estimator"].n_features_in_
    if len(names) != expected:
        raise ModelArtifactError(ERR_FEATURES.format(listed=len(names), expected=expected))
    return TrainedModel(
        estimator=objects["estimator"],
        explainer=objects["explainer"],
        feature_names=names,
        version=metadata["version"],
        metadata=metadata["metadata"],
    )


def read_metadata(data: bytes) -> dict:
    """The JSON metadata alone, without building any estimator."""
    return _unpack(data)[1]


def save(model: TrainedModel, path: str | Path) -> None:
    Path(path).write_bytes(dumps(model))


def load(path: str | Path) -> TrainedModel:
    return loads(Path(path).read_bytes())


def _unpack(data: bytes) -> tuple[bytes, dict]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(ESTIMATORS_NAME), json.loads(archive.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError) as error:
        raise ModelArtifactError(ERR_NOT_ARCHIVE) from error


def _verify(estimators: bytes, metadata: dict) -> None:
    if metadata.get("format") != FORMAT:
        raise ModelArtifactError(ERR_FORMAT.format(found=metadata.get("format"), expected=FORMAT))
    if hashlib.sha256(estimators).hexdigest() != metadata.get("estimators_sha256"):
        raise ModelArtifactError(ERR_HASH)
    if metadata.get("sklearn_version") != sklearn.__version__:
        raise ModelArtifactError(
            ERR_SKLEARN.format(saved=metadata.get("sklearn_version"), running=sklearn.__version__)
        )
    unreviewed = sorted(set(sio.get_untrusted_types(data=estimators)) - set(TRUSTED_TYPES))
    if unreviewed:
        raise ModelArtifactError(ERR_UNTRUSTED.format(types=", ".join(unreviewed)))

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from ml import persistence
from ml.features import FEATURE_NAMES, build_features
from ml.model import predict_proba
from ml.reasons import explain

CREATED = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def _rewrite(data: bytes, *, estimators: bytes | None = None, **metadata_changes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        old_estimators = archive.read(persistence.ESTIMATORS_NAME)
        metadata = json.loads(archive.read(persistence.METADATA_NAME))
    metadata.update(metadata_changes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(persistence.ESTIMATORS_NAME, estimators or old_estimators)
        archive.writestr(persistence.METADATA_NAME, json.dumps(metadata))
    return buffer.getvalue()


def test_round_trip_keeps_predictions_reasons_and_metadata(world, trained, tmp_path):
    # given
    features = build_features(world.event_tables(), world.start.replace(year=2023)).head(500)
    path = tmp_path / "risk.zip"
    # when
    persistence.save(trained, path)
    loaded = persistence.load(path)
    # then
    np.testing.assert_array_equal(predict_proba(loaded, features), predict_proba(trained, features))
    assert explain(loaded, features.head(20)) == explain(trained, features.head(20))
    assert loaded.version == trained.version
    assert loaded.feature_names == FEATURE_NAMES
    assert loaded.metadata == json.loads(json.dumps(trained.metadata))


def test_metadata_is_readable_without_loading_estimators(trained):
    metadata = persistence.read_metadata(persistence.dumps(trained, created_at=CREATED))
    assert metadata["created_at"] == "2024-03-01T08:00:00+00:00"
    assert metadata["version"] == trained.version
    assert metadata["feature_names"] == list(FEATURE_NAMES)
    assert metadata["metadata"]["holdout"]["model"]["k"] == 0.1


def test_tampered_estimators_are_refused(trained):
    data = persistence.dumps(trained)
    other = sio.dumps({"estimator": None, "explainer": None})
    with pytest.raises(persistence.ModelArtifactError, match="hash does not match"):
        persistence.loads(_rewrite(data, estimators=other))


def test_other_sklearn_version_is_refused(trained):
    data = _rewrite(persistence.dumps(trained), sklearn_version="0.24.2")
    with pytest.raises(persistence.ModelArtifactError, match=r"saved with scikit-learn 0\.24\.2"):
        persistence.loads(data)


def test_unreviewed_types_are_refused_before_loading(trained):
    # given an artifact whose estimator would call json.loads: a type nobody reviewed
    rogue = sio.dumps({"estimator": FunctionTransformer(json.loads), "explainer": None})
    data = _rewrite(
        persistence.dumps(trained),
        estimators=rogue,
        estimators_sha256=hashlib.sha256(rogue).hexdigest(),
    )
    with pytest.raises(persistence.ModelArtifactError, match=r"json\.loads"):
        persistence.loads(data)


def test_garbage_is_not_an_artifact():
    with pytest.raises(persistence.ModelArtifactError, match="not a zip archive"):
        persistence.loads(b"not a model")

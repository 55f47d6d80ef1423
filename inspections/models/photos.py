"""Photo evidence: declared slots of a finding, and the resumable (tus) uploads that fill them."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from inspections.models.work import SHA256_HEX_LENGTH, Finding


class PhotoState(models.TextChoices):
    DECLARED = "declared", _("已登记")
    UPLOADING = "uploading", _("上传中")
    RECEIVED = "received", _("已接收")
    PROCESSED = "processed", _("已处理")
    REJECTED = "rejected", _("已拒收")


class Photo(BaseModel):
    """A photo slot declared by a finding (`declared_*` come from the phone), filled by an
    upload (`sha256`, `original_key`) and then processed into derivatives and evidence."""

    uuid = models.UUIDField(_("客户端编号"), unique=True)
    finding = models.ForeignKey(
        Finding, verbose_name=_("违规发现"), on_delete=models.PROTECT, related_name="photos"
    )
    position = models.PositiveSmallIntegerField(_("序号"))
    declared_sha256 = models.CharField(_("声明的SHA-256"), max_length=SHA256_HEX_LENGTH)
    declared_size = models.PositiveIntegerField(_("声明的大小（字节）"))
    declared_content_type = models.CharField(_("声明的类型"), max_length=32)
    state = models.CharField(
        _("状态"), max_length=16, choices=PhotoState.choices, default=PhotoState.DECLARED
    )
    rejection_reason = models.CharField(_("拒收原因代码"), max_length=64, blank=True)
    rejection_detail = models.CharField(_("拒收说明"), max_length=300, blank=True)
    flags = models.JSONField(_("提示标记"), default=list, blank=True)
    received_at = models.DateTimeField(_("接收时间"), null=True, blank=True)
    processed_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=SHA256_HEX_LENGTH, blank=True)
    original_key = models.CharField(max_length=200, blank=True)
    display_key = models.CharField(max_length=200, blank=True)
    thumb_key = models.CharField(max_length=200, blank=True)
    # Evidence read from the file itself (EXIF), which is evidence and never proof.
    detected_format = models.CharField(_("识别格式"), max_length=16, blank=True)
    width = models.PositiveIntegerField(_("宽"), null=True, blank=True)
    height = models.PositiveIntegerField(_("高"), null=True, blank=True)
    captured_at = models.DateTimeField(_("拍摄时间（EXIF）"), null=True, blank=True)
    gps_lat = models.FloatField(_("拍摄纬度（EXIF）"), null=True, blank=True)
    gps_lon = models.FloatField(_("拍摄经度（EXIF）"), null=True, blank=True)
    phash = models.CharField(_("感知哈希"), max_length=32, blank=True, db_index=True)

    class Meta:
        verbose_name = _("照片")
        verbose_name_plural = _("照片")
        ordering = ["finding_id", "position"]
        indexes = [models.Index(fields=["state", "received_at"]), models.Index(fields=["sha256"])]
        constraints = [
            models.UniqueConstraint(fields=["finding", "position"], name="photo_position_unique"),
            models.CheckConstraint(
                condition=models.Q(declared_size__gte=1), name="photo_declared_size_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="rejected") | ~models.Q(rejection_reason=""),
                name="photo_rejection_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"photo {self.uuid} ({self.state})"


class UploadState(models.TextChoices):
    """An upload refused at its last byte (checksum) or terminated by the client is deleted
    with its parts; an abandoned one is kept as `expired` so the sweeper's work is visible."""

    ACTIVE = "active", _("进行中")
    COMPLETED = "completed", _("已完成")
    EXPIRED = "expired", _("已过期")


class Upload(BaseModel):
    """One tus upload. Its bytes live in the object store as parts `uploads/<id>/<start>-<end>`
    until the last byte arrives; `parts` lists the committed [start, end) ranges in order, so any
    web process can continue the upload."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    photo = models.ForeignKey(
        Photo, verbose_name=_("照片"), on_delete=models.CASCADE, related_name="uploads"
    )
    length = models.PositiveIntegerField(_("总长度"))
    offset = models.PositiveIntegerField(_("已接收"), default=0)
    parts = models.JSONField(default=list, blank=True)
    filename = models.CharField(_("文件名"), max_length=255, blank=True)
    content_type = models.CharField(_("类型"), max_length=32)
    state = models.CharField(
        _("状态"), max_length=16, choices=UploadState.choices, default=UploadState.ACTIVE
    )
    expires_at = models.DateTimeField(_("过期时间"))
    # The PATCH currently streaming into this upload, if any (see `upload_append`): a second
    # PATCH for the same bytes, such as a browser's silent resend after a dropped connection,
    # is refused with 423 instead of being read twice. The lease lapses on its own.
    writer = models.UUIDField(null=True, blank=True, editable=False)
    writer_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("上传")
        verbose_name_plural = _("上传")
        indexes = [models.Index(fields=["state", "expires_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offset__lte=models.F("length")), name="upload_offset_in_range"
            ),
            models.CheckConstraint(condition=models.Q(length__gte=1), name="upload_not_empty"),
        ]

    def __str__(self) -> str:
        return f"upload {self.id} ({self.offset}/{self.length}, {self.state})"

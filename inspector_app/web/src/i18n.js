// Chinese is the app's language whatever the browser says; English only when the inspector
// picks it in 我的 / Me (kept on the device). Dates and times are shown in Asia/Shanghai, the
// bureau's time zone, in Chinese conventions (2026年12月8日 09:30) unless English is chosen.

export const TIME_ZONE = 'Asia/Shanghai';
const LANGS = ['zh', 'en'];
let current = 'zh';

const TEXT = {
  zh: {
    app_name: '物业巡查',
    loading: '正在加载…',
    // sign-in
    sign_in_title: '巡查员登录',
    sign_in_hint: '每台设备登录一次。离线时保持登录，网络恢复后自动同步。',
    username: '用户名',
    password: '密码',
    sign_in: '登录',
    signing_in: '正在登录…',
    sign_in_again: '登录已过期，请重新输入密码。未同步的数据仍保存在本机。',
    sign_in_offline: '当前无网络，首次登录需要联网。',
    other_user_data: '本机还有 {name} 未同步的数据，请用该账号登录完成同步。',
    // tabs
    tab_today: '今日任务',
    tab_projects: '小区',
    tab_sync: '同步',
    tab_me: '我的',
    // today
    today_title: '今日任务',
    tasks_empty: '暂无分配给您的任务。可在“小区”中选择任意小区开始巡查。',
    tasks_done: '已完成或已取消',
    due: '截止 {date}',
    overdue: '已逾期',
    rank: '优先级第 {rank} 位',
    open_inspections: '进行中的巡查',
    kind_routine: '例行巡查',
    kind_special: '专项检查',
    kind_complaint: '投诉核查',
    kind_followup: '复查',
    status_assigned: '待巡查',
    status_in_progress: '进行中',
    status_done: '已完成',
    status_cancelled: '已取消',
    start_at_task: '开始巡查',
    continue_inspection: '继续巡查',
    data_as_of: '数据更新于 {time}',
    never_synced: '尚未下载数据',
    // projects
    projects_title: '辖区小区',
    search_placeholder: '按小区名称或地址搜索',
    search_label: '搜索小区',
    projects_count: '共 {count} 个小区',
    projects_shown: '显示 {shown} / {count} 个',
    projects_empty: '没有匹配的小区。',
    projects_none: '尚未下载辖区小区，联网后自动下载。',
    no_enterprise: '未登记物业服务企业',
    enterprise: '物业服务企业',
    address: '地址',
    project_history: '我在此小区的巡查',
    history_empty: '您还没有巡查过这个小区。',
    history_offline: '离线：仅显示本机记录。',
    start_inspection: '在此小区开始巡查',
    findings_count: '{count} 项问题',
    clean_result: '未发现问题',
    // inspection
    inspection_title: '巡查记录',
    started: '开始时间',
    location: '位置',
    location_value: '{lat}, {lon}（误差约 {acc} 米）',
    location_none: '未记录位置',
    location_ask: '记录巡查位置',
    location_why: '位置用于证明现场巡查，只在巡查和发现问题时读取一次。',
    location_getting: '正在定位…',
    location_denied: '未获得定位权限，位置不会被记录。可在浏览器设置中开启。',
    note: '备注',
    findings: '发现的问题',
    no_findings_yet: '尚未记录问题。如现场无问题，可直接完成巡查，记为合格。',
    add_finding: '记录一个问题',
    finish: '完成巡查',
    finish_clean: '未发现问题，完成巡查',
    confirm_clean: '本次巡查未发现问题，将记录为合格巡查。确定完成吗？',
    confirm_finish: '完成后本次巡查（{count} 项问题）将进入同步队列，不能再修改。确定完成吗？',
    discard: '放弃本次巡查',
    confirm_discard: '放弃后本次巡查及其照片将从本机删除。确定吗？',
    queued_note: '已完成，等待同步。',
    // finding
    finding_title: '记录问题',
    violation: '违规事项',
    choose_violation: '请选择违规事项',
    severity_serious: '严重',
    severity_ordinary: '一般',
    severity_minor: '轻微',
    points: '{points} 分',
    min_photos: '至少 {count} 张照片',
    description: '问题描述',
    description_hint: '写明现场情况，例如位置、范围、持续时间。',
    photos: '照片',
    take_photo: '拍照',
    pick_photo: '从相册选择',
    photo_count: '已选 {count} 张',
    remove_photo: '删除照片',
    save_finding: '保存问题',
    delete_finding: '删除此问题',
    need_violation: '请选择违规事项。',
    need_photos: '此事项至少需要 {count} 张照片，当前 {have} 张。',
    too_many_photos: '每个问题最多 {count} 张照片。',
    photo_bad_type: '“{name}”不是 JPEG、HEIC、PNG 或 WebP 照片，未添加。',
    photo_too_big: '“{name}”超过 25 MB，未添加。',
    photo_empty: '“{name}”是空文件，未添加。',
    photo_storage_full: '手机存储空间不足，照片未能保存。请清理空间后重试。',
    observed: '发现时间',
    // sync
    sync_title: '同步',
    online: '在线',
    offline: '离线',
    syncing: '正在同步…',
    sync_now: '立即同步',
    retry_failed: '重试失败项',
    sync_other_tab: '另一个窗口正在同步。',
    last_sync: '上次同步 {time}',
    sync_empty: '没有待同步的巡查。',
    storage_use: '本机已用 {used}',
    insp_draft: '记录中',
    insp_waiting: '等待同步',
    insp_sending: '正在上传',
    insp_submitted: '已提交，照片处理中',
    insp_done: '已全部送达',
    insp_refused: '被服务器拒绝',
    insp_failed: '同步失败，将自动重试',
    photo_waiting: '等待上传',
    photo_uploading: '上传中 {percent}',
    photo_processing: '服务器处理中',
    photo_accepted: '已接收',
    photo_refused: '被拒收：{reason}',
    photo_failed: '上传失败，将重试',
    photo_n: '照片 {n}',
    clean_inspection: '合格巡查（无问题）',
    review_pending: '待审核',
    review_confirmed: '已确认',
    review_rejected: '未采纳',
    // photo rejection reasons (server codes)
    reject_empty_file: '文件为空',
    reject_not_an_image: '文件不是照片（不是 JPEG、PNG、WebP 或 HEIC 图像）',
    reject_unsupported_format: '不支持的图片格式',
    reject_decompression_bomb: '图片像素过多，疑似异常文件',
    reject_truncated: '照片数据不完整（文件被截断）',
    reject_polyglot: '照片末尾夹带了其他数据',
    reject_corrupt: '照片文件已损坏',
    reject_checksum_mismatch: '上传内容与声明不一致',
    reject_photo_too_large: '照片超过 25 MB',
    reject_unsupported_media_type: '不支持的文件类型',
    reject_unknown: '服务器拒收（{code}）',
    // me
    me_title: '我的',
    inspector: '巡查员',
    regions: '负责区域',
    language: '语言 / Language',
    sign_out: '退出登录',
    confirm_sign_out: '退出后本机的巡查数据和照片将被清除。确定退出吗？',
    unsynced_warning: '还有 {inspections} 条巡查、{photos} 张照片未送达服务器。现在退出会永久丢失这些记录。',
    sign_out_anyway: '仍然退出并删除',
    sync_first: '先同步',
    app_version: '应用版本 {version}',
    update_ready: '新版本已就绪，更新不会影响未同步的数据。',
    update_now: '立即更新',
    install_hint: '可在浏览器菜单中选择“添加到主屏幕”，像应用一样使用。',
    // generic
    back: '返回',
    cancel: '取消',
    ok: '确定',
    error_network: '网络不可用，已保存在本机，联网后自动同步。',
    error_server: '服务器暂时不可用，稍后自动重试。',
    not_found: '未找到该记录。',
    err_invalid_credentials: '用户名或密码错误。',
    err_too_many_attempts: '尝试次数过多，请稍后再试。',
    err_idempotency_conflict: '服务器上已有同一编号但内容不同的记录。',
    err_unknown_violation_code: '违规事项已不在当前目录中。',
    err_too_few_photos: '照片数量少于该事项的要求。',
    err_not_found: '服务器上找不到该小区或记录（可能已不在您的辖区）。',
    err_network: '网络中断，稍后自动重试。',
  },
  en: {
    app_name: 'Property patrol',
    loading: 'Loading…',
    sign_in_title: 'Inspector sign-in',
    sign_in_hint: 'Sign in once per device. You stay signed in offline; work syncs when the network returns.',
    username: 'Username',
    password: 'Password',
    sign_in: 'Sign in',
    signing_in: 'Signing in…',
    sign_in_again: 'Your session expired: enter your password again. Unsynced work is still on this device.',
    sign_in_offline: 'No network: the first sign-in needs a connection.',
    other_user_data: 'This device holds unsynced work of {name}: sign in as that user to finish syncing.',
    tab_today: 'Today',
    tab_projects: 'Compounds',
    tab_sync: 'Sync',
    tab_me: 'Me',
    today_title: "Today's tasks",
    tasks_empty: 'No tasks assigned to you. Pick any compound under “Compounds” to patrol it.',
    tasks_done: 'Done or cancelled',
    due: 'Due {date}',
    overdue: 'Overdue',
    rank: 'Priority #{rank}',
    open_inspections: 'Inspections in progress',
    kind_routine: 'Routine patrol',
    kind_special: 'Special check',
    kind_complaint: 'Complaint check',
    kind_followup: 'Follow-up',
    status_assigned: 'To do',
    status_in_progress: 'In progress',
    status_done: 'Done',
    status_cancelled: 'Cancelled',
    start_at_task: 'Start inspection',
    continue_inspection: 'Continue inspection',
    data_as_of: 'Data as of {time}',
    never_synced: 'Nothing downloaded yet',
    projects_title: 'Compounds in my regions',
    search_placeholder: 'Search by name or address',
    search_label: 'Search compounds',
    projects_count: '{count} compounds',
    projects_shown: 'Showing {shown} of {count}',
    projects_empty: 'No compound matches.',
    projects_none: 'Compounds not downloaded yet; they download when online.',
    no_enterprise: 'No property company registered',
    enterprise: 'Property company',
    address: 'Address',
    project_history: 'My inspections here',
    history_empty: 'You have not inspected this compound yet.',
    history_offline: 'Offline: showing this device’s records only.',
    start_inspection: 'Start an inspection here',
    findings_count: '{count} findings',
    clean_result: 'No problems found',
    inspection_title: 'Inspection',
    started: 'Started',
    location: 'Location',
    location_value: '{lat}, {lon} (±{acc} m)',
    location_none: 'No location recorded',
    location_ask: 'Record my location',
    location_why: 'The location proves the visit on site; it is read once per inspection and finding.',
    location_getting: 'Locating…',
    location_denied: 'Location permission refused; no location will be recorded.',
    note: 'Note',
    findings: 'Findings',
    no_findings_yet: 'No findings yet. If all is in order, finish the inspection as clean.',
    add_finding: 'Record a finding',
    finish: 'Finish inspection',
    finish_clean: 'No problems: finish inspection',
    confirm_clean: 'No problems were found: record this as a clean inspection?',
    confirm_finish: 'The inspection ({count} findings) goes to the sync queue and can no longer be changed. Finish?',
    discard: 'Discard this inspection',
    confirm_discard: 'The inspection and its photos will be deleted from this device. Discard?',
    queued_note: 'Finished, waiting to sync.',
    finding_title: 'Record a finding',
    violation: 'Violation',
    choose_violation: 'Choose the violation',
    severity_serious: 'Serious',
    severity_ordinary: 'Ordinary',
    severity_minor: 'Minor',
    points: '{points} points',
    min_photos: 'At least {count} photos',
    description: 'Description',
    description_hint: 'Describe what you saw: where, how much, since when.',
    photos: 'Photos',
    take_photo: 'Take photo',
    pick_photo: 'Choose from gallery',
    photo_count: '{count} selected',
    remove_photo: 'Remove photo',
    save_finding: 'Save finding',
    delete_finding: 'Delete this finding',
    need_violation: 'Choose the violation.',
    need_photos: 'This violation needs at least {count} photos; you have {have}.',
    too_many_photos: 'At most {count} photos per finding.',
    photo_bad_type: '“{name}” is not a JPEG, HEIC, PNG or WebP photo and was not added.',
    photo_too_big: '“{name}” is larger than 25 MB and was not added.',
    photo_empty: '“{name}” is empty and was not added.',
    photo_storage_full: 'The phone is out of storage: the photo was not saved. Free some space and retry.',
    observed: 'Observed',
    sync_title: 'Sync',
    online: 'Online',
    offline: 'Offline',
    syncing: 'Syncing…',
    sync_now: 'Sync now',
    retry_failed: 'Retry what failed',
    sync_other_tab: 'Another window is syncing.',
    last_sync: 'Last sync {time}',
    sync_empty: 'Nothing waiting to sync.',
    storage_use: '{used} used on this device',
    insp_draft: 'Being recorded',
    insp_waiting: 'Waiting to sync',
    insp_sending: 'Uploading',
    insp_submitted: 'Submitted, photos being processed',
    insp_done: 'All delivered',
    insp_refused: 'Refused by the server',
    insp_failed: 'Sync failed; retrying automatically',
    photo_waiting: 'Waiting',
    photo_uploading: 'Uploading {percent}',
    photo_processing: 'Processing on the server',
    photo_accepted: 'Accepted',
    photo_refused: 'Refused: {reason}',
    photo_failed: 'Upload failed; will retry',
    photo_n: 'Photo {n}',
    clean_inspection: 'Clean inspection (no findings)',
    review_pending: 'Awaiting review',
    review_confirmed: 'Confirmed',
    review_rejected: 'Not upheld',
    reject_empty_file: 'the file is empty',
    reject_not_an_image: 'the file is not a JPEG, PNG, WebP or HEIC image',
    reject_unsupported_format: 'unsupported image format',
    reject_decompression_bomb: 'too many pixels; suspicious file',
    reject_truncated: 'the photo data is incomplete (truncated)',
    reject_polyglot: 'other data is hidden after the image',
    reject_corrupt: 'the photo file is damaged',
    reject_checksum_mismatch: 'the upload differs from what was declared',
    reject_photo_too_large: 'the photo is larger than 25 MB',
    reject_unsupported_media_type: 'unsupported file type',
    reject_unknown: 'refused by the server ({code})',
    me_title: 'Me',
    inspector: 'Inspector',
    regions: 'Regions',
    language: '语言 / Language',
    sign_out: 'Sign out',
    confirm_sign_out: 'Signing out clears this device’s inspections and photos. Sign out?',
    unsynced_warning: '{inspections} inspections and {photos} photos have not reached the server. Signing out now loses them for good.',
    sign_out_anyway: 'Sign out and delete',
    sync_first: 'Sync first',
    app_version: 'App version {version}',
    update_ready: 'A new version is ready; updating keeps unsynced work.',
    update_now: 'Update now',
    install_hint: 'Use “Add to Home screen” in the browser menu to install it as an app.',
    back: 'Back',
    cancel: 'Cancel',
    ok: 'OK',
    error_network: 'No network: saved on this device, it syncs when online.',
    error_server: 'The server is unavailable; retrying later.',
    not_found: 'Record not found.',
    err_invalid_credentials: 'Wrong username or password.',
    err_too_many_attempts: 'Too many attempts; try again later.',
    err_idempotency_conflict: 'The server holds a different record under the same id.',
    err_unknown_violation_code: 'The violation is no longer in the catalogue.',
    err_too_few_photos: 'Fewer photos than the violation requires.',
    err_not_found: 'The server does not know this compound or record (perhaps no longer in your regions).',
    err_network: 'Connection lost; retrying later.',
  },
};

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'zh';
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
}

export function lang() {
  return current;
}

export function t(key, vars = {}) {
  const text = TEXT[current][key] ?? TEXT.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

function locale() {
  return current === 'zh' ? 'zh-CN' : 'en-GB';
}

export function formatDateTime(value) {
  if (!value) return '';
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(value));
}

export function formatDate(value) {
  if (!value) return '';
  // A bare date (2026-12-08) is a calendar day, not an instant: format it at noon UTC so no
  // time zone can move it to the day before.
  const instant = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00Z` : value;
  return new Intl.DateTimeFormat(locale(), {
    timeZone: TIME_ZONE,
    month: 'long',
    day: 'numeric',
    weekday: 'short',
  }).format(new Date(instant));
}

export function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(locale(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value);
}

export function formatPercent(share) {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(
    share,
  );
}

export function formatBytes(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function todayInShanghai() {
  // en-CA formats as YYYY-MM-DD, the shape of the API's due_date.
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(new Date());
}

export function rejectionText(code) {
  const key = `reject_${code}`;
  return key in TEXT.zh ? t(key) : t('reject_unknown', { code });
}

/** A server problem in the reader's language: our own text for known codes, else the
 * server's Chinese detail, else the code itself. */
export function problemText(problem) {
  if (!problem) return '';
  const key = `err_${problem.code}`;
  if (key in TEXT.zh) return t(key);
  return problem.detail || problem.code || '';
}

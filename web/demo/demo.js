// Stoa's demo call: plain JavaScript on the global AgoraRTC that /sdk/stoa-rtc.js defines, written the way an
// app for agora-rtc-sdk-ng is written. No build step: the server serves this file as it is.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  // Advice for the codes a person meets in this page, used only when the SDK does not carry the catalog's own text.
  const FALLBACK_ADVICE = {
    PERMISSION_DENIED: 'Allow this site to use the camera and microphone (the icon in the address bar), then try again.',
    DEVICE_NOT_FOUND: 'Plug in the device or pick another one under Devices.',
    NOT_READABLE: 'Another application is using the device: close it and try again.',
    CONSTRAINT_NOT_SATISFIED: 'The device cannot produce the requested format: pick another device.',
    UID_CONFLICT: 'Someone in this channel already uses this user id: choose another one or leave it empty.',
    INVALID_PARAMS: 'Check the channel name (1 to 64 letters, digits or common symbols, no slash) and the user id.',
    CAN_NOT_GET_GATEWAY_SERVER: 'Check the app id and the token; the detail below says what the server refused.',
    TOKEN_EXPIRE: 'The token expired: get a new one and join again.',
    NETWORK_ERROR: 'The server cannot be reached: check the network and that the server is running.',
    WEB_SECURITY_RESTRICT: 'Open this page over https, or from localhost / 127.0.0.1.',
  };

  const ui = {
    form: $('join-form'),
    join: $('join'),
    leave: $('leave'),
    status: $('status'),
    errors: $('errors'),
    noErrors: $('no-errors'),
    remoteGrid: $('remote-grid'),
    alone: $('alone'),
    localName: $('local-name'),
    localFlags: $('local-flags'),
    mic: $('toggle-mic'),
    muteMic: $('mute-mic'),
    camera: $('toggle-camera'),
    muteCamera: $('mute-camera'),
    screen: $('toggle-screen'),
    microphones: $('microphones'),
    cameras: $('cameras'),
    speakers: $('speakers'),
  };

  if (typeof window.AgoraRTC !== 'object' || window.AgoraRTC === null) {
    ui.status.textContent = 'The Stoa Web SDK did not load (/sdk/stoa-rtc.js): is this page served by stoa serve?';
    document.body.dataset.state = 'BROKEN';
    return;
  }
  const AgoraRTC = window.AgoraRTC;
  $('sdk-version').textContent = AgoraRTC.VERSION ? `version ${AgoraRTC.VERSION}` : '';

  const local = { mic: null, camera: null, screen: null };
  let client = null;
  let busy = false;

  // ---------- errors ----------

  function adviceFor(error) {
    const code = error && error.code;
    const entry = (error && error.info) || (AgoraRTC.ERROR_CATALOG && AgoraRTC.ERROR_CATALOG[code]);
    const advice = entry && entry.advice && entry.advice !== 'None.' ? entry.advice : null;
    return advice || FALLBACK_ADVICE[code] || (entry && entry.description) || '';
  }

  function showError(what, error) {
    console.error(what, error);
    const item = document.createElement('li');
    const code = (error && error.code) || (error && error.name) || 'ERROR';
    const title = document.createElement('b');
    title.textContent = `${what}: ${code}`;
    const advice = document.createElement('span');
    advice.className = 'advice';
    advice.textContent = adviceFor(error);
    const detail = document.createElement('span');
    detail.className = 'detail';
    detail.textContent = String((error && error.message) || error);
    item.append(title, advice, detail);
    ui.errors.prepend(item);
    while (ui.errors.children.length > 5) ui.errors.lastElementChild.remove();
    ui.noErrors.hidden = true;
  }

  /** Runs one user action at a time, reporting its failure in the Problems list. */
  async function action(what, fn) {
    if (busy) return;
    busy = true;
    refresh();
    try {
      await fn();
    } catch (error) {
      showError(what, error);
    } finally {
      busy = false;
      refresh();
    }
  }

  // ---------- state shown on the page ----------

  const joined = () => client !== null && client.connectionState === 'CONNECTED';

  function setStatus(state, reason) {
    document.body.dataset.state = state;
    const channel = client && client.channelName;
    const text = {
      DISCONNECTED: reason && reason !== 'LEAVE' ? `Disconnected (${reason}).` : 'Not connected.',
      CONNECTING: 'Connecting…',
      CONNECTED: `In channel "${channel}" as user ${client && client.uid}.`,
      RECONNECTING: 'Connection lost, reconnecting…',
      DISCONNECTING: 'Leaving…',
    }[state];
    ui.status.textContent = text || state;
  }

  function refresh() {
    const inCall = client !== null && client.connectionState !== 'DISCONNECTED';
    ui.join.disabled = busy || inCall;
    ui.leave.disabled = busy || !inCall;
    for (const input of ui.form.querySelectorAll('input, select')) input.disabled = inCall;
    ui.mic.disabled = busy;
    ui.camera.disabled = busy;
    ui.screen.disabled = busy;
    ui.mic.textContent = local.mic ? 'Stop microphone' : 'Start microphone';
    ui.camera.textContent = local.camera ? 'Stop camera' : 'Start camera';
    ui.screen.textContent = local.screen ? 'Stop sharing' : 'Share screen';
    ui.mic.classList.toggle('on', !!local.mic);
    ui.camera.classList.toggle('on', !!local.camera);
    ui.screen.classList.toggle('on', !!local.screen);
    ui.muteMic.disabled = busy || !local.mic;
    ui.muteCamera.disabled = busy || !local.camera;
    ui.muteMic.textContent = local.mic && local.mic.muted ? 'Unmute' : 'Mute';
    ui.muteCamera.textContent = local.camera && local.camera.muted ? 'Unmute' : 'Mute';
    ui.localName.textContent = client && client.uid != null ? `Me (${client.uid})` : 'Me (not joined)';
    const flags = [];
    if (local.mic) flags.push(local.mic.muted ? 'mic muted' : 'mic on');
    if (local.screen) flags.push('sharing screen');
    else if (local.camera) flags.push(local.camera.muted ? 'camera muted' : 'camera on');
    ui.localFlags.textContent = flags.length ? `· ${flags.join(' · ')}` : '';
    ui.alone.hidden = ui.remoteGrid.children.length > 0;
  }

  // ---------- local media ----------

  /** The video track the others see: the screen while sharing, else the camera. */
  const outgoingVideo = () => local.screen || local.camera;

  function showLocalPreview() {
    const video = outgoingVideo();
    for (const track of [local.camera, local.screen]) if (track && track !== video) track.stop();
    if (video) video.play('local-player', { mirror: video === local.camera, fit: 'contain' });
  }

  async function publish(track) {
    if (track && joined()) await client.publish(track);
  }

  async function unpublish(track) {
    if (track && joined() && client.localTracks.includes(track)) await client.unpublish(track);
  }

  async function startMicrophone() {
    local.mic = await AgoraRTC.createMicrophoneAudioTrack({ microphoneId: ui.microphones.value || undefined });
    await publish(local.mic);
    await listDevices();
  }

  async function stopMicrophone() {
    const track = local.mic;
    local.mic = null;
    await unpublish(track);
    track.close();
  }

  async function startCamera() {
    local.camera = await AgoraRTC.createCameraVideoTrack({ cameraId: ui.cameras.value || undefined });
    showLocalPreview();
    if (!local.screen) await publish(local.camera);
    await listDevices();
  }

  async function stopCamera() {
    const track = local.camera;
    local.camera = null;
    await unpublish(track);
    track.close();
    showLocalPreview();
  }

  async function startScreen() {
    const screen = await AgoraRTC.createScreenVideoTrack({}, 'disable');
    // One video track per user: the screen replaces the camera for the others until sharing stops.
    await unpublish(local.camera);
    local.screen = screen;
    screen.on('track-ended', () => action('Stop sharing', stopScreen));
    showLocalPreview();
    await publish(screen);
  }

  async function stopScreen() {
    const track = local.screen;
    if (!track) return;
    local.screen = null;
    await unpublish(track);
    track.close();
    showLocalPreview();
    await publish(local.camera);
  }

  async function closeLocalTracks() {
    for (const key of ['mic', 'camera', 'screen']) {
      if (local[key]) local[key].close();
      local[key] = null;
    }
  }

  // ---------- devices ----------

  async function fillSelect(select, devices, kindName) {
    const chosen = select.value;
    select.replaceChildren();
    devices.forEach((device, i) => {
      const option = document.createElement('option');
      option.value = device.deviceId;
      option.textContent = device.label || `${kindName} ${i + 1}`;
      select.append(option);
    });
    if (devices.some((d) => d.deviceId === chosen)) select.value = chosen;
    select.disabled = devices.length === 0;
  }

  async function listDevices() {
    try {
      const devices = await AgoraRTC.getDevices(true);
      await fillSelect(ui.microphones, devices.filter((d) => d.kind === 'audioinput'), 'Microphone');
      await fillSelect(ui.cameras, devices.filter((d) => d.kind === 'videoinput'), 'Camera');
      await fillSelect(ui.speakers, devices.filter((d) => d.kind === 'audiooutput'), 'Speaker');
      if (local.mic) ui.microphones.value = deviceOf(local.mic) || ui.microphones.value;
      if (local.camera) ui.cameras.value = deviceOf(local.camera) || ui.cameras.value;
    } catch (error) {
      showError('List devices', error);
    }
  }

  function deviceOf(track) {
    const media = track.getMediaStreamTrack && track.getMediaStreamTrack();
    return media && media.getSettings ? media.getSettings().deviceId : undefined;
  }

  ui.microphones.addEventListener('change', () =>
    action('Switch microphone', async () => local.mic && (await local.mic.setDevice(ui.microphones.value))),
  );
  ui.cameras.addEventListener('change', () =>
    action('Switch camera', async () => local.camera && (await local.camera.setDevice(ui.cameras.value))),
  );
  ui.speakers.addEventListener('change', () =>
    action('Switch speaker', async () => {
      for (const user of client ? client.remoteUsers : []) {
        if (user.audioTrack && user.audioTrack.setPlaybackDevice) await user.audioTrack.setPlaybackDevice(ui.speakers.value);
      }
    }),
  );
  AgoraRTC.onCameraChanged = () => listDevices();
  AgoraRTC.onMicrophoneChanged = () => listDevices();
  AgoraRTC.onPlaybackDeviceChanged = () => listDevices();

  // ---------- remote users ----------

  function tileOf(uid) {
    let tile = document.getElementById(`remote-${uid}`);
    if (!tile) {
      tile = document.createElement('div');
      tile.className = 'tile';
      tile.id = `remote-${uid}`;
      tile.innerHTML = '<div class="placeholder">no video</div><div class="player"></div><div class="label"></div>';
      ui.remoteGrid.append(tile);
    }
    return tile;
  }

  function labelRemote(user) {
    const tile = tileOf(user.uid);
    const flags = [user.hasAudio ? 'mic on' : 'mic off', user.hasVideo ? 'video on' : 'video off'];
    tile.querySelector('.label').textContent = `User ${user.uid} · ${flags.join(' · ')}`;
    tile.querySelector('.placeholder').hidden = !!user.videoTrack;
  }

  function watchClient() {
    client.on('connection-state-change', (state, _previous, reason) => {
      setStatus(state, reason);
      if (state === 'DISCONNECTED') {
        ui.remoteGrid.replaceChildren();
      }
      refresh();
    });
    client.on('user-joined', (user) => {
      labelRemote(user);
      refresh();
    });
    client.on('user-left', (user) => {
      const tile = document.getElementById(`remote-${user.uid}`);
      if (tile) tile.remove();
      refresh();
    });
    // Not an `action`: remote users publish whenever they like, also while this tab is busy with its own clicks.
    client.on('user-published', async (user, mediaType) => {
      try {
        const track = await client.subscribe(user, mediaType);
        if (mediaType === 'video') track.play(tileOf(user.uid).querySelector('.player'), { fit: 'contain' });
        else track.play();
      } catch (error) {
        showError(`Receive ${mediaType} of user ${user.uid}`, error);
      }
      labelRemote(user);
      refresh();
    });
    client.on('user-unpublished', (user) => labelRemote(user));
    client.on('user-info-updated', (uid) => {
      const user = client.remoteUsers.find((u) => u.uid === uid);
      if (user) labelRemote(user);
    });
    client.on('token-privilege-will-expire', () =>
      showError('Token', { code: 'TOKEN_EXPIRE', message: 'The token expires in 30 seconds: join again with a fresh one.' }),
    );
    client.on('exception', (event) => console.warn('exception', event));
  }

  function parseUid(text) {
    const value = text.trim();
    if (value === '') return null;
    return /^\d+$/.test(value) ? Number(value) : value;
  }

  async function join() {
    client = AgoraRTC.createClient({ mode: 'rtc', codec: $('codec').value });
    watchClient();
    setStatus('CONNECTING');
    try {
      await client.join($('app-id').value.trim(), $('channel').value.trim(), $('token').value.trim() || null, parseUid($('uid').value));
    } catch (error) {
      client = null;
      setStatus('DISCONNECTED');
      throw error;
    }
    setStatus(client.connectionState);
    if ($('auto-publish').checked) {
      if (!local.mic) await startMicrophone().catch((error) => showError('Microphone', error));
      if (!local.camera) await startCamera().catch((error) => showError('Camera', error));
    }
    const tracks = [local.mic, outgoingVideo()].filter((t) => t && !client.localTracks.includes(t));
    if (tracks.length) await client.publish(tracks);
  }

  async function leave() {
    const leaving = client;
    await closeLocalTracks();
    await leaving.leave();
    ui.remoteGrid.replaceChildren();
    client = null;
    setStatus('DISCONNECTED');
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    action('Join', join);
  });
  ui.leave.addEventListener('click', () => action('Leave', leave));
  ui.mic.addEventListener('click', () => action('Microphone', () => (local.mic ? stopMicrophone() : startMicrophone())));
  ui.camera.addEventListener('click', () => action('Camera', () => (local.camera ? stopCamera() : startCamera())));
  ui.screen.addEventListener('click', () => action('Screen sharing', () => (local.screen ? stopScreen() : startScreen())));
  ui.muteMic.addEventListener('click', () => action('Mute microphone', () => local.mic.setMuted(!local.mic.muted)));
  ui.muteCamera.addEventListener('click', () => action('Mute camera', () => local.camera.setMuted(!local.camera.muted)));

  // ?channel=NAME in the address pre-fills the channel, so a link brings someone into the same call.
  const params = new URLSearchParams(location.search);
  if (params.get('channel')) $('channel').value = params.get('channel');
  if (!AgoraRTC.checkSystemRequirements || AgoraRTC.checkSystemRequirements()) listDevices();
  else showError('This browser', { code: 'NOT_SUPPORTED', message: 'This browser cannot make WebRTC calls.' });
  refresh();
})();

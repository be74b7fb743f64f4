// The test harness's page logic, shared by harness.html (UMD bundle) and esm.html (ES module).
'use strict';
// Everything the Node side drives goes through `window.t`. Methods return plain JSON; AgoraRTC errors are
// rethrown untouched so the harness can read `error.code`.
const t = (window.t = {
  client: null,
  localAudio: null,
  localVideo: null,
  events: [],
  states: [],
  subscribeCalls: 0,
  qualities: [],
  analysers: new Map(),
  autoSubscribe: true,

  createClient(config = { mode: 'rtc', codec: 'vp8' }) {
    const client = AgoraRTC.createClient(config);
    t.client = client;
    client.on('connection-state-change', (cur, prev, reason) => {
      t.states.push(cur);
      t.events.push({ at: performance.now(), name: 'connection-state-change', cur, prev, reason: reason ?? null });
    });
    for (const name of ['user-joined', 'user-left', 'user-unpublished', 'media-reconnect-start', 'media-reconnect-end']) {
      client.on(name, (user, detail) => {
        t.events.push({ at: performance.now(), name, uid: user?.uid ?? user, detail: detail ?? null });
      });
    }
    // Every "network-quality" report, in order, as [uplink, downlink].
    client.on('network-quality', (quality) => {
      t.qualities.push([quality.uplinkNetworkQuality, quality.downlinkNetworkQuality]);
    });
    client.on('user-published', async (user, mediaType) => {
      t.events.push({ at: performance.now(), name: 'user-published', uid: user.uid, mediaType });
      if (!t.autoSubscribe) return;
      try {
        await t.subscribe(user.uid, mediaType);
      } catch (error) {
        t.events.push({ name: 'subscribe-error', uid: user.uid, mediaType, code: error.code, message: error.message });
      }
    });
    return true;
  },

  async join({ appId, channel, token = null, uid = null, codec = 'vp8', mode = 'rtc', autoSubscribe = true }) {
    t.autoSubscribe = autoSubscribe;
    t.createClient({ mode, codec });
    return await t.client.join(appId, channel, token, uid);
  },

  async leave() {
    await t.client?.leave();
    return true;
  },

  async createTracks() {
    const [audio, video] = await AgoraRTC.createMicrophoneAndCameraTracks();
    t.localAudio = audio;
    t.localVideo = video;
    video.play('local');
    return { audio: audio.getTrackId(), video: video.getTrackId() };
  },

  async publish() {
    await t.client.publish([t.localAudio, t.localVideo]);
    return t.client.localTracks.length;
  },

  async unpublishVideo() {
    await t.client.unpublish(t.localVideo);
    return t.client.localTracks.length;
  },

  async publishVideo() {
    await t.client.publish(t.localVideo);
    return t.client.localTracks.length;
  },

  async subscribe(uid, mediaType) {
    t.subscribeCalls += 1;
    const user = t.client.remoteUsers.find((u) => u.uid === uid) ?? uid;
    const track = await t.client.subscribe(user, mediaType);
    if (mediaType === 'video') {
      let tile = document.getElementById(`remote-${uid}`);
      if (!tile) {
        tile = document.createElement('div');
        tile.id = `remote-${uid}`;
        tile.className = 'tile';
        tile.innerHTML = `<span>${uid}</span>`;
        document.getElementById('remotes').append(tile);
      }
      track.play(tile);
    } else {
      track.play();
      t.listen(uid, track);
    }
    return true;
  },

  // An analyser on the remote audio: energy and the loudest frequency say whether the tone arrived.
  listen(uid, track) {
    const context = new AudioContext();
    const source = context.createMediaStreamSource(new MediaStream([track.getMediaStreamTrack()]));
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    source.connect(analyser);
    t.analysers.set(String(uid), { context, analyser, track });
  },

  audio(uid) {
    const entry = t.analysers.get(String(uid));
    if (!entry) return null;
    const { analyser, context } = entry;
    const wave = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(wave);
    const rms = Math.sqrt(wave.reduce((sum, x) => sum + x * x, 0) / wave.length);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(spectrum);
    let peak = 0;
    for (let i = 1; i < spectrum.length; i += 1) if (spectrum[i] > spectrum[peak]) peak = i;
    return {
      rms,
      peakHz: (peak * context.sampleRate) / analyser.fftSize,
      contextState: context.state,
      volumeLevel: entry.track.getVolumeLevel?.() ?? null,
    };
  },

  // What the page shows of a remote user's video, read from the <video> element the SDK created.
  video(uid) {
    const element = document.querySelector(`#remote-${uid} video`);
    if (!element) return null;
    const quality = element.getVideoPlaybackQuality?.();
    const user = t.client.remoteUsers.find((u) => u.uid === uid);
    let stats = null;
    try {
      stats = user?.videoTrack?.getStats?.() ?? null;
    } catch (error) {
      stats = { error: String(error) };
    }
    return {
      width: element.videoWidth,
      height: element.videoHeight,
      frames: quality?.totalVideoFrames ?? 0,
      currentTime: element.currentTime,
      paused: element.paused,
      stats,
    };
  },

  // The browser's own view of the receiving transports: codec in use and frames decoded per inbound video.
  async inbound() {
    const found = [];
    for (const pc of window.__peerConnections ?? []) {
      if (pc.connectionState === 'closed') continue;
      const report = await pc.getStats();
      for (const stat of report.values()) {
        if (stat.type !== 'inbound-rtp') continue;
        const codec = stat.codecId ? report.get(stat.codecId) : null;
        found.push({
          kind: stat.kind,
          codec: codec?.mimeType ?? null,
          framesDecoded: stat.framesDecoded ?? null,
          frameWidth: stat.frameWidth ?? null,
          frameHeight: stat.frameHeight ?? null,
          audioLevel: stat.audioLevel ?? null,
          totalAudioEnergy: stat.totalAudioEnergy ?? null,
          packetsReceived: stat.packetsReceived,
        });
      }
    }
    return found;
  },

  state() {
    return {
      connectionState: t.client?.connectionState ?? null,
      uid: t.client?.uid ?? null,
      remoteUsers: (t.client?.remoteUsers ?? []).map((u) => ({ uid: u.uid, hasAudio: u.hasAudio, hasVideo: u.hasVideo })),
      states: t.states,
      subscribeCalls: t.subscribeCalls,
      qualities: t.qualities,
      networkQuality: t.client?.getNetworkQuality() ?? null,
      remoteNetworkQuality: t.client?.getRemoteNetworkQuality() ?? {},
      peerConnections: (window.__peerConnections ?? []).length,
      events: t.events.filter((e) => e.name !== 'connection-state-change'),
    };
  },

  /** Sends this page's media through UDP relays: `ports` maps each server media port to its relay's port. */
  relayMedia(ports) {
    window.__mediaPortMap = ports;
    return true;
  },

  // ---- error paths: each resolves only if the SDK did not throw ----
  async createCamera(config) {
    const track = await AgoraRTC.createCameraVideoTrack(config);
    track.close();
    return true;
  },
  async createMicrophone(config) {
    const track = await AgoraRTC.createMicrophoneAudioTrack(config);
    track.close();
    return true;
  },
  async createBufferSource(source) {
    const track = await AgoraRTC.createBufferSourceAudioTrack({ source });
    track.close();
    return true;
  },
  /** The File chosen in the page's file input, as an app passes one from `<input type="file">`. */
  async createBufferSourceFromFile() {
    const [file] = document.getElementById('audio-file').files;
    if (!file) throw new Error('no file chosen in #audio-file');
    const track = await AgoraRTC.createBufferSourceAudioTrack({ source: file });
    const duration = track.duration;
    track.close();
    return duration;
  },
  /**
   * Resolves with the kinds of the tracks createScreenVideoTrack returned. With `userSharesAudio: false` the page
   * plays a user who leaves "share audio" unticked in the picker: the browser's real capture comes back without its
   * audio track, which is what getDisplayMedia returns then (headless Chromium's fake picker always shares audio).
   */
  async createScreen(withAudio, { userSharesAudio = true } = {}) {
    const devices = navigator.mediaDevices;
    const original = devices.getDisplayMedia;
    if (!userSharesAudio) {
      devices.getDisplayMedia = async (options) => {
        const stream = await original.call(devices, options);
        for (const audio of stream.getAudioTracks()) {
          audio.stop();
          stream.removeTrack(audio);
        }
        return stream;
      };
    }
    let result;
    try {
      result = await AgoraRTC.createScreenVideoTrack({}, withAudio);
    } finally {
      devices.getDisplayMedia = original;
    }
    const tracks = Array.isArray(result) ? result : [result];
    for (const track of tracks) track.close();
    return tracks.map((track) => track.trackMediaType);
  },
  async publishSecondVideo() {
    // A second video track of another kind: a canvas captured as a custom video track.
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 120;
    const draw = canvas.getContext('2d');
    draw.fillStyle = '#3a6';
    draw.fillRect(0, 0, 160, 120);
    const [mediaStreamTrack] = canvas.captureStream(5).getVideoTracks();
    const track = AgoraRTC.createCustomVideoTrack({ mediaStreamTrack });
    try {
      await t.client.publish(track);
    } finally {
      track.close();
    }
    return true;
  },
  async joinSecondClient({ appId, channel, token = null, uid = null }) {
    const second = AgoraRTC.createClient({ mode: 'rtc', codec: 'vp8' });
    try {
      return await second.join(appId, channel, token, uid);
    } finally {
      await second.leave().catch(() => {});
    }
  },
});

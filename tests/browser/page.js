// Connects MQTT.js (MQTT 5, /mqtt) and stompjs (/stomp) to one Switchyard WebSocket
// listener, subscribes on both sides, then publishes MQTT -> STOMP and STOMP -> MQTT.
// Everything that happens ends up in window.result, which tests/python/test_browser.py
// polls over the DevTools protocol:
//   done        true once both messages arrived, or on the first error
//   error       null, or what went wrong (the page never retries)
//   versions    the client libraries' versions and the negotiated STOMP version
//   sent        what each side published
//   toStomp     MESSAGE frames the STOMP subscriber got ({destination, headers, body})
//   toMqtt      PUBLISH packets the MQTT subscriber got ({topic, payload, qos, properties})
//   log         steps, in order
//
// Query parameters: port (required), host (default 127.0.0.1), tag (names the topics).
(function () {
  "use strict";

  const params = new URLSearchParams(window.location.search);
  const host = params.get("host") || "127.0.0.1";
  const port = params.get("port");
  const tag = params.get("tag") || "t" + Date.now();

  const result = (window.result = {
    done: false,
    error: null,
    versions: {},
    sent: {},
    toStomp: [],
    toMqtt: [],
    log: [],
  });

  function log(line) {
    result.log.push(line);
    document.getElementById("log").textContent += line + "\n";
  }

  function fail(what, err) {
    if (result.done) return;
    const text = err && err.message ? err.message : String(err);
    result.error = what + ": " + text;
    log("error: " + result.error);
    result.done = true;
    close();
  }

  function finishIfComplete() {
    if (!result.done && result.toStomp.length > 0 && result.toMqtt.length > 0) {
      log("both directions crossed");
      result.done = true;
      close();
    }
  }

  if (!port) {
    fail("page", "no ?port= in the URL");
    return;
  }
  if (typeof mqtt === "undefined" || typeof StompJs === "undefined") {
    fail("page", "the client bundles did not load (run npm ci in tests/browser)");
    return;
  }

  // MQTT topic a/b is STOMP destination /topic/a.b (RabbitMQ's mapping).
  const mqttToStomp = { mqtt: "browser/" + tag + "/from-mqtt", stomp: "/topic/browser." + tag + ".from-mqtt" };
  const stompToMqtt = { mqtt: "browser/" + tag + "/from-stomp", stomp: "/topic/browser." + tag + ".from-stomp" };
  // Non-ASCII on purpose: both sides must carry UTF-8 untouched.
  const mqttPayload = "hello from MQTT.js \u00e9\u2713 " + tag;
  const stompBody = "hello from stompjs \u00fc\u2192 " + tag;

  let mqttClient = null;
  let stompClient = null;

  function close() {
    // Leave the clients' teardown to the page's end; just stop further traffic.
    try { if (mqttClient) mqttClient.end(true); } catch (e) { /* closing anyway */ }
    try { if (stompClient) stompClient.deactivate(); } catch (e) { /* closing anyway */ }
  }

  function plainProperties(props) {
    // MQTT.js keeps user properties as {name: value | [values]}; copy into plain JSON.
    if (!props) return {};
    const out = {};
    for (const key of Object.keys(props)) {
      const value = props[key];
      if (value instanceof Uint8Array) out[key] = new TextDecoder().decode(value);
      else out[key] = value;
    }
    return out;
  }

  // 1. MQTT.js: connect (MQTT 5), subscribe to what STOMP will send.
  function startMqtt() {
    return new Promise(function (resolve, reject) {
      const url = "ws://" + host + ":" + port + "/mqtt";
      log("mqtt: connecting to " + url);
      mqttClient = mqtt.connect(url, {
        protocolVersion: 5,
        clientId: "browser-" + tag,
        clean: true,
        reconnectPeriod: 0, // one attempt: a failure is reported, not hidden by retries
        connectTimeout: 10000,
      });
      mqttClient.on("error", function (err) { reject(err); fail("mqtt", err); });
      mqttClient.on("close", function () {
        if (!result.done) fail("mqtt", "connection closed before the test finished");
      });
      mqttClient.on("message", function (topic, payload, packet) {
        const text = new TextDecoder().decode(payload);
        log("mqtt: got " + JSON.stringify(text) + " on " + topic);
        result.toMqtt.push({
          topic: topic,
          payload: text,
          qos: packet.qos,
          retain: packet.retain,
          properties: plainProperties(packet.properties),
        });
        finishIfComplete();
      });
      mqttClient.on("connect", function (connack) {
        log("mqtt: connected");
        mqttClient.subscribe(stompToMqtt.mqtt, { qos: 1 }, function (err, granted) {
          if (err) return reject(err);
          log("mqtt: subscribed " + JSON.stringify(granted));
          if (!granted || granted.length !== 1 || granted[0].qos > 2) {
            return reject(new Error("subscription refused: " + JSON.stringify(granted)));
          }
          resolve();
        });
      });
    });
  }

  // 2. stompjs: connect, subscribe (with a receipt, so that the subscription is known
  //    to be in place before anything is sent to it).
  function startStomp() {
    return new Promise(function (resolve, reject) {
      const url = "ws://" + host + ":" + port + "/stomp";
      log("stomp: connecting to " + url);
      stompClient = new StompJs.Client({
        brokerURL: url,
        connectHeaders: { host: "/" },
        reconnectDelay: 0, // one attempt
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
        connectionTimeout: 10000,
      });
      stompClient.onStompError = function (frame) {
        const err = new Error("ERROR frame: " + frame.headers.message + " " + frame.body);
        reject(err);
        fail("stomp", err);
      };
      stompClient.onWebSocketError = function () {
        const err = new Error("WebSocket error");
        reject(err);
        fail("stomp", err);
      };
      stompClient.onWebSocketClose = function (evt) {
        const err = new Error("WebSocket closed (code " + evt.code + ") before the test finished");
        reject(err);
        if (!result.done) fail("stomp", err);
      };
      stompClient.onConnect = function (frame) {
        result.versions.stompProtocol = frame.headers.version;
        log("stomp: connected, STOMP " + frame.headers.version);
        const receipt = "sub-" + tag;
        stompClient.watchForReceipt(receipt, function () {
          log("stomp: subscribed to " + mqttToStomp.stomp);
          resolve();
        });
        stompClient.subscribe(mqttToStomp.stomp, function (message) {
          log("stomp: got " + JSON.stringify(message.body) + " on " + message.headers.destination);
          result.toStomp.push({
            destination: message.headers.destination,
            headers: Object.assign({}, message.headers),
            body: message.body,
          });
          finishIfComplete();
        }, { receipt: receipt });
      };
      stompClient.activate();
    });
  }

  // 3. Both directions, once both subscriptions are in place.
  function publish() {
    result.sent.mqtt = { topic: mqttToStomp.mqtt, payload: mqttPayload };
    log("mqtt: publishing to " + mqttToStomp.mqtt);
    mqttClient.publish(mqttToStomp.mqtt, mqttPayload, {
      qos: 1,
      properties: {
        contentType: "text/plain; charset=utf-8",
        userProperties: { "x-sent-by": "mqtt.js", "x-tag": tag },
      },
    }, function (err) {
      if (err) fail("mqtt publish", err);
      else log("mqtt: publish acknowledged");
    });

    result.sent.stomp = { destination: stompToMqtt.stomp, body: stompBody };
    log("stomp: sending to " + stompToMqtt.stomp);
    stompClient.publish({
      destination: stompToMqtt.stomp,
      body: stompBody,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "x-sent-by": "stompjs",
        "x-tag": tag,
      },
    });
  }

  result.versions.mqttjs = (mqtt.MqttClient && mqtt.MqttClient.VERSION) || null;
  result.versions.stompjs = StompJs.Versions ? StompJs.Versions.default.supportedVersions() : null;

  Promise.all([startMqtt(), startStomp()])
    .then(publish)
    .catch(function (err) { fail("setup", err); });
})();

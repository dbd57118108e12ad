/** The MQTT username the control plane's own client uses; no device may enroll under it. */
export const SERVICE_USERNAME = 'control-plane';

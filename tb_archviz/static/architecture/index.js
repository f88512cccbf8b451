// src/tab/index.js
async function render() {
}
export {
  render
};

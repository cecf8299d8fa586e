<?php
/*
 * Router for PHP's built-in web server, standing in for Apache's mod_rewrite rules that
 * WordPress writes to .htaccess: existing files are served (or run) as they are, every other
 * path goes to index.php, which is what makes pretty permalinks and /wp-json/ work.
 */
$root = $_SERVER['DOCUMENT_ROOT'];
$path = urldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$target = $root . $path;

if ($path !== '/' && is_file($target)) {
    return false;
}
if ($path !== '/' && is_dir($target) && is_file(rtrim($target, '/') . '/index.php')) {
    return false;
}

// What Apache reports after "RewriteRule . /index.php": WordPress reads these to route.
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
unset($_SERVER['PATH_INFO'], $_SERVER['ORIG_PATH_INFO']);
chdir($root);
require $root . '/index.php';
